import Costs
import Synchronization
import Torch

/// A named tensor, the unit of state dicts and checkpoints (ordered lists keep PyTorch's order).
public typealias NamedTensor = (name: String, tensor: Tensor)

/// Bumped whenever any module tree changes which tensors it holds (a child replaced, a
/// parameter swapped for a channels-last copy). Optimizers bound to a module compare it to
/// re-collect their parameter list only when something changed.
package let structureGeneration = Atomic<Int>(0)

/// Source of parameter identities: a registered parameter keeps its identity when its tensor
/// is swapped for a converted copy (channels-last), so optimizer state follows it; a newly
/// registered parameter (a replaced layer) gets a new one.
let parameterIdentities = Atomic<Int>(0)

func bumpStructureGeneration() { structureGeneration.add(1, ordering: .relaxed) }

/// The base class of every layer and model.
///
/// A module owns named parameters (trained tensors), named buffers (state such as BatchNorm's
/// running statistics) and named child modules, all in registration order, so the keys of
/// ``stateDict()`` are PyTorch's (`layer1.0.conv1.weight`, `bn1.running_mean`).
///
/// Children are typed stored properties: each is a ``Child`` slot created with its PyTorch key
/// and registered once, in PyTorch's order, by ``register(_:)`` after `super.init()`.
/// `forward` and `analyze` read the properties by name; ``replace(_:with:)`` (how a block is
/// collapsed) swaps the module inside the slot, so the property and the key tree both see it.
/// Containers with indexed children ("0", "1", …) use ``Sequential``.
///
/// ```swift
/// final class TwoLayer: Module {
///     let fc1: Child<Linear>
///     let act: Child<Module>
///     let fc2: Child<Linear>
///     init(generator: Generator) throws {
///         fc1 = Child("fc1", try Linear(4, 8, generator: generator))
///         act = Child("act", ReLU())
///         fc2 = Child("fc2", try Linear(8, 2, generator: generator))
///         super.init()
///         try register(fc1, act, fc2)
///     }
///     override func forward(_ x: Tensor) throws -> Tensor { try fc2(act(fc1(x))) }
/// }
/// ```
open class Module {
    /// Names of this module's own parameters, in registration order.
    public private(set) var localParameterNames: [String] = []
    /// This module's own parameters (not its children's), in registration order.
    public private(set) var localParameters: [Tensor] = []
    /// Stable identities of the local parameters (see `parameterIdentities`).
    private(set) var localParameterIDs: [Int] = []
    public private(set) var localBufferNames: [String] = []
    public private(set) var localBuffers: [Tensor] = []
    /// The slots of the direct children, in registration order.
    private var childSlots: [AnyChild] = []
    /// Training mode (the default) or evaluation mode, set on the whole tree by ``train(_:)``.
    public private(set) var isTraining = true
    /// The layout 4-D parameters are kept in; models convert their input to it at entry.
    public private(set) var memoryFormat: MemoryFormat = .contiguous

    public init() {}

    /// The layer's type as printed in reports ("Conv2d", "BasicBlock").
    open var typeName: String { String(describing: type(of: self)) }

    /// Layer settings shown in ``description`` ("3, 64, kernel=(3, 3)").
    open var extraDescription: String { "" }

    // MARK: registration

    /// The direct children with their keys, in registration order.
    public final var namedChildren: [(name: String, module: Module)] {
        childSlots.map { ($0.key, $0.anyModule) }
    }

    /// The slot registered under `key`, if any.
    final func childSlot(_ key: String) -> AnyChild? {
        childSlots.first { $0.key == key }
    }

    private func checkNewName(_ name: String) throws {
        guard !name.isEmpty, !name.contains(".") else {
            throw ModuleError.invalidKey(owner: typeName, key: name)
        }
        guard !localParameterNames.contains(name), !localBufferNames.contains(name), childSlot(name) == nil else {
            throw ModuleError.duplicateKey(owner: typeName, key: name)
        }
    }

    /// Registers a parameter (made a leaf that requires grad unless `requiresGrad` is false)
    /// and returns its index in ``localParameters``.
    @discardableResult
    public final func registerParameter(_ name: String, _ tensor: Tensor, requiresGrad: Bool = true) throws -> Int {
        try checkNewName(name)
        let leaf = tensor.requiresGrad == requiresGrad ? tensor : try tensor.detach().requiresGrad(requiresGrad)
        localParameterNames.append(name)
        localParameters.append(leaf)
        localParameterIDs.append(parameterIdentities.add(1, ordering: .relaxed).newValue)
        bumpStructureGeneration()
        return localParameters.count - 1
    }

    /// Registers a buffer (saved in the state dict, never trained); returns its index.
    @discardableResult
    public final func registerBuffer(_ name: String, _ tensor: Tensor) throws -> Int {
        try checkNewName(name)
        localBufferNames.append(name)
        localBuffers.append(tensor)
        return localBuffers.count - 1
    }

    /// Registers child slots under their keys, in the order given (PyTorch's registration
    /// order: it is the order of the state dict). Nil entries (absent optional children, such
    /// as a block without a shortcut) are skipped. Throws for a key already used in this module
    /// or a slot already registered.
    public final func register(_ children: AnyChild?...) throws {
        try register(contentsOf: children.compactMap { $0 })
    }

    /// Registers child slots, in order (see ``register(_:)``).
    public final func register(contentsOf children: [AnyChild]) throws {
        for child in children {
            guard !child.isRegistered else { throw ModuleError.childRegisteredTwice(key: child.key, owner: typeName) }
            try checkNewName(child.key)
            child.isRegistered = true
            childSlots.append(child)
        }
        bumpStructureGeneration()
    }

    /// Registers a child module under `name` in an untyped slot and returns it (for modules
    /// built at run time; declared children use ``Child`` properties).
    @discardableResult
    public final func registerModule<M: Module>(_ name: String, _ module: M) throws -> M {
        try register(Child<Module>(name, module))
        return module
    }

    /// Appends a slot named by its position among the children ("0", "1", …), as
    /// `nn.Sequential` names them.
    final func appendIndexedChild(_ module: Module) -> Child<Module> {
        let slot = Child<Module>(String(childSlots.count), module)
        slot.isRegistered = true
        childSlots.append(slot)
        bumpStructureGeneration()
        return slot
    }

    /// Replaces this module's own parameter at `index` (same shape) — e.g. by a channels-last copy.
    public final func setLocalParameter(at index: Int, _ tensor: Tensor) throws {
        guard localParameters.indices.contains(index) else {
            throw ModuleError.parameterMismatch(owner: typeName, detail: "no parameter at index \(index)")
        }
        guard tensor.shape == localParameters[index].shape else {
            throw ModuleError.parameterMismatch(
                owner: typeName,
                detail: "\(localParameterNames[index]): shape \(tensor.shape) given for \(localParameters[index].shape)")
        }
        localParameters[index] = tensor
        bumpStructureGeneration()
    }

    // MARK: forward

    /// The module's computation. Composite modules override it and call their children.
    open func forward(_ x: Tensor) throws -> Tensor {
        throw ModuleError.forwardNotImplemented(type: typeName)
    }

    public final func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard let capture = GraphCapture.current else { return try forward(x) }
        capture.enter(ObjectIdentifier(self))
        defer { capture.exit() }
        return try forward(x)
    }

    // MARK: traversal

    /// This module and every descendant, depth first in registration order, with dotted paths
    /// ("" for this module).
    public final func namedModules() -> [(name: String, module: Module)] {
        var out: [(name: String, module: Module)] = []
        collectModules(prefix: "", into: &out)
        return out
    }

    private func collectModules(prefix: String, into out: inout [(name: String, module: Module)]) {
        out.append((prefix, self))
        for slot in childSlots {
            slot.anyModule.collectModules(prefix: prefix.isEmpty ? slot.key : prefix + "." + slot.key, into: &out)
        }
    }

    /// Every parameter of the tree with its PyTorch key, in PyTorch's order.
    public final func namedParameters() -> [NamedTensor] {
        var out: [NamedTensor] = []
        for (path, module) in namedModules() {
            for (i, name) in module.localParameterNames.enumerated() {
                out.append((path.isEmpty ? name : path + "." + name, module.localParameters[i]))
            }
        }
        return out
    }

    /// Every parameter with its key and stable identity (for optimizers).
    package func identifiedParameters() -> [(name: String, tensor: Tensor, id: Int)] {
        var out: [(name: String, tensor: Tensor, id: Int)] = []
        for (path, module) in namedModules() {
            for (i, name) in module.localParameterNames.enumerated() {
                out.append((path.isEmpty ? name : path + "." + name, module.localParameters[i], module.localParameterIDs[i]))
            }
        }
        return out
    }

    /// Every buffer of the tree with its PyTorch key.
    public final func namedBuffers() -> [NamedTensor] {
        var out: [NamedTensor] = []
        for (path, module) in namedModules() {
            for (i, name) in module.localBufferNames.enumerated() {
                out.append((path.isEmpty ? name : path + "." + name, module.localBuffers[i]))
            }
        }
        return out
    }

    /// Every parameter of the tree, in the order of ``namedParameters()``.
    public final func parameterTensors() -> [Tensor] { namedParameters().map(\.tensor) }

    /// The state dict as PyTorch orders it: for each module (depth first), its parameters
    /// then its buffers. The tensors are the live ones (not copies).
    public final func stateDict() -> [NamedTensor] {
        var out: [NamedTensor] = []
        for (path, module) in namedModules() {
            let prefix = path.isEmpty ? "" : path + "."
            for (i, name) in module.localParameterNames.enumerated() { out.append((prefix + name, module.localParameters[i])) }
            for (i, name) in module.localBufferNames.enumerated() { out.append((prefix + name, module.localBuffers[i])) }
        }
        return out
    }

    /// Number of scalar parameters in the tree (trainable or not), as `sum(p.numel())`.
    public final var parameterCount: Int {
        namedModules().reduce(0) { total, entry in
            total + entry.module.localParameters.reduce(0) { $0 + $1.elementCount }
        }
    }

    /// The descendant at a dotted path ("layer2.1", "features.3.conv.0"), or self for "".
    public final func module(at path: String) -> Module? {
        if path.isEmpty { return self }
        var current: Module = self
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard let slot = current.childSlot(String(part)) else { return nil }
            current = slot.anyModule
        }
        return current
    }

    /// The slot holding the descendant at a dotted path, and the module that owns the slot;
    /// nil for "" or a path with no module.
    final func slot(at path: String) -> (owner: Module, slot: AnyChild)? {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let key = parts.last, let owner = module(at: parts.dropLast().joined(separator: ".")),
              let slot = owner.childSlot(key) else { return nil }
        return (owner, slot)
    }

    /// Replaces the descendant at `path` with `module` and returns the module it replaced. The
    /// new module goes into the same slot (so the owner's typed property sees it), takes this
    /// tree's mode and memory format, and keeps its key: every other key of the state dict
    /// stays, in order. Throws ``ModuleError`` naming the path when there is no module there or
    /// the slot is typed more narrowly than `module`.
    @discardableResult
    public final func replace(_ path: String, with module: Module) throws -> Module {
        guard !path.isEmpty else { throw ModuleError.emptyPath }
        guard let found = slot(at: path) else {
            let parentPath = path.split(separator: ".", omittingEmptySubsequences: false).dropLast().joined(separator: ".")
            let known = namedModules().map(\.name).filter { !$0.isEmpty && $0.hasPrefix(parentPath) }
            throw ModuleError.noModule(path: path, model: typeName, known: Array(known.prefix(12)))
        }
        let (parent, slot) = (found.owner, found.slot)
        guard slot.accepts(module) else {
            throw ModuleError.wrongChildType(path: path, expected: slot.acceptedTypeName, found: module.typeName)
        }
        let old = slot.anyModule
        module.train(parent.isTraining)
        if parent.memoryFormat != module.memoryFormat { try module.setMemoryFormat(parent.memoryFormat) }
        slot.place(module)
        bumpStructureGeneration()
        return old
    }

    // MARK: modes

    /// Sets training (true) or evaluation (false) mode on the whole tree.
    public final func train(_ on: Bool = true) {
        isTraining = on
        for slot in childSlots { slot.anyModule.train(on) }
    }

    /// Evaluation mode on the whole tree (BatchNorm uses running statistics, Dropout is off).
    public final func eval() { train(false) }

    /// Converts every 4-D parameter and buffer of the tree to `format` (they stay leaf tensors
    /// that require grad) and records the format, so models convert their input at entry.
    /// Optimizers bound with `attach(to:)` pick up the new tensors on their next step.
    public final func setMemoryFormat(_ format: MemoryFormat) throws {
        for (_, module) in namedModules() { module.memoryFormat = format }
        _ = try convertTensors { t in t.rank == 4 && !t.isContiguous(format) ? try t.contiguous(format) : nil }
        bumpStructureGeneration()
    }

    /// Moves every parameter and buffer of the tree to `device` (parameters stay leaves that
    /// require grad, keeping their identity for optimizers bound with `attach(to:)`, which
    /// create their state beside them). Nothing happens for tensors already there.
    public final func to(_ device: Device) throws {
        if try convertTensors({ t in t.device != device ? try t.to(device) : nil }) { bumpStructureGeneration() }
    }

    /// Replaces each parameter and buffer of the tree for which `convert` returns a new tensor
    /// (nil: keep it). Parameters are converted detached, without grad, and stay leaves with
    /// their requires-grad flag and identity. Returns whether anything was replaced.
    private func convertTensors(_ convert: (Tensor) throws -> Tensor?) throws -> Bool {
        var changed = false
        for (_, module) in namedModules() {
            for i in module.localParameters.indices {
                let p = module.localParameters[i]
                guard let converted = try withNoGrad({ try convert(p.detach()) }) else { continue }
                try converted.requiresGrad(p.requiresGrad)
                module.localParameters[i] = converted
                changed = true
            }
            for i in module.localBuffers.indices {
                guard let converted = try convert(module.localBuffers[i]) else { continue }
                module.localBuffers[i] = converted
                changed = true
            }
        }
        return changed
    }

    /// The device of the tree's first parameter (the CPU for a module without parameters).
    public final var device: Device { namedParameters().first?.tensor.device ?? .cpu }

    /// Drops every parameter's gradient (`zero_grad(set_to_none=True)`).
    public final func zeroGrad() throws {
        for p in parameterTensors() { try p.zeroGrad() }
    }

    // MARK: random generators held by layers (Dropout), for checkpoints

    /// Generators this module itself holds (not its children's), by local name.
    open var localGenerators: [(name: String, generator: Generator)] { [] }

    /// Every generator held in the tree, with dotted keys ("classifier.0.generator").
    public final func namedGenerators() -> [(name: String, generator: Generator)] {
        var out: [(name: String, generator: Generator)] = []
        for (path, module) in namedModules() {
            for (name, g) in module.localGenerators { out.append((path.isEmpty ? name : path + "." + name, g)) }
        }
        return out
    }

    // MARK: cost analysis

    /// Propagates an input shape (with batch dimension) through the module, recording each
    /// leaf layer's parameters and MACs in `context`; returns the output shape. Leaf layers and
    /// composite modules with a non-sequential topology override it (reading their ``Child``
    /// properties, through ``analyze(_:_:path:context:)``); the default runs the children in
    /// registration order (right for `Sequential`-like modules).
    open func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        try analyze(childSlots, input, path: path, context: &context)
    }

    /// Analyzes the children in `slots` one after the other (each output feeds the next).
    public final func analyze(_ slots: [AnyChild], _ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        var shape = input
        for slot in slots { shape = try analyze(slot, shape, path: path, context: &context) }
        return shape
    }

    /// Analyzes the child in `slot` under `path` (this module's path), recording its input and
    /// output shapes under the child's path.
    public final func analyze(_ slot: AnyChild, _ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        let childPath = path.isEmpty ? slot.key : path + "." + slot.key
        context.moduleInputShapes[childPath] = input
        let output = try slot.anyModule.analyze(input, path: childPath, context: &context)
        context.moduleOutputShapes[childPath] = output
        return output
    }
}

/// What ``CostModel/analyze(_:input:convention:)`` runs: `analyze` and `parameterCount` above.
extension Module: CostAnalyzable {}

extension Module: CustomStringConvertible {
    /// A PyTorch-like tree printout.
    public var description: String { render(indent: "") }

    private func render(indent: String) -> String {
        guard !childSlots.isEmpty else { return typeName + "(" + extraDescription + ")" }
        var lines = [typeName + "("]
        for slot in childSlots {
            lines.append(indent + "  (\(slot.key)): " + slot.anyModule.render(indent: indent + "  "))
        }
        lines.append(indent + ")")
        return lines.joined(separator: "\n")
    }
}
