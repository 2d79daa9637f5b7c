import Torch

/// The slot of one child module under its PyTorch key, shared by the owner's stored property
/// and the owner's registry of children. ``Module/replace(_:with:)`` swaps the module inside
/// the slot, so the owner's property sees the replacement at once and the key tree stays right.
///
/// Use the typed subclass ``Child``; `AnyChild` is what the registry holds.
public class AnyChild {
    /// The key the child is registered under ("conv1", "layer2", "0").
    public let key: String
    /// The module currently in the slot.
    public fileprivate(set) var anyModule: Module
    /// Set when the owner registers the slot; a slot is registered once.
    var isRegistered = false

    init(key: String, module: Module) {
        self.key = key
        self.anyModule = module
    }

    /// The type name a replacement must have, for error messages.
    var acceptedTypeName: String { "Module" }

    /// Whether `module` may be put in this slot.
    func accepts(_ module: Module) -> Bool { true }

    /// Puts `module` in the slot (the caller has checked ``accepts(_:)``).
    func place(_ module: Module) { anyModule = module }
}

/// A typed child slot: declare one stored property per child, create it with its PyTorch key,
/// and register the slots in PyTorch's order once `super.init()` has run:
///
/// ```swift
/// final class Block: Module {
///     let conv1: Child<Conv2d>
///     let bn1: Child<Module>          // Module-typed: may be replaced by anything (Identity)
///     init(generator: Generator) throws {
///         conv1 = Child("conv1", try Conv2d(3, 8, kernelSize: 3, padding: 1, generator: generator))
///         bn1 = Child("bn1", try BatchNorm2d(8))
///         super.init()
///         try register(conv1, bn1)
///     }
///     override func forward(_ x: Tensor) throws -> Tensor { try bn1(conv1(x)) }
/// }
/// ```
///
/// Type a slot as narrowly as the owner's code needs (`Child<Sequential>` for a stage it
/// iterates) and no narrower: a replacement must be an `M`, or ``Module/replace(_:with:)``
/// throws ``ModuleError/wrongChildType(path:expected:found:)`` naming the path.
public final class Child<M: Module>: AnyChild {
    public init(_ key: String, _ module: M) {
        super.init(key: key, module: module)
    }

    /// The module in the slot (the replacement, once replaced).
    public var module: M { unsafeDowncast(anyModule, to: M.self) }

    override var acceptedTypeName: String { String(describing: M.self) }

    override func accepts(_ module: Module) -> Bool { module is M }

    /// Runs the module in the slot.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard isRegistered else { throw ModuleError.unregisteredChild(key: key, type: anyModule.typeName) }
        return try anyModule(x)
    }
}
