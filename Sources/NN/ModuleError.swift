/// An error raised by the neural-network layer outside the module tree — the optimizers,
/// schedules and training checkpoints of `Optim`, the file readers of `Serialization` — with a
/// message that says what went wrong and where.
public struct NNError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An error about a module tree or one of its layers. Every case names the module path, key or
/// layer concerned.
public enum ModuleError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A parameter, buffer or child key that is empty or contains a '.'.
    case invalidKey(owner: String, key: String)
    /// A key already used by a parameter, buffer or child of the same module.
    case duplicateKey(owner: String, key: String)
    /// A ``Child`` slot registered a second time (in this module or another).
    case childRegisteredTwice(key: String, owner: String)
    /// A ``Child`` slot called before its owner registered it.
    case unregisteredChild(key: String, type: String)
    /// No module at a dotted path; `known` lists some paths that exist under the parent.
    case noModule(path: String, model: String, known: [String])
    /// `replace` was given the empty path (the root cannot replace itself).
    case emptyPath
    /// A replacement whose type the child's typed slot does not accept.
    case wrongChildType(path: String, expected: String, found: String)
    /// A module whose `forward(_:)` is not implemented.
    case forwardNotImplemented(type: String)
    /// A layer built with settings it cannot have.
    case invalidConfiguration(layer: String, detail: String)
    /// A layer reached (in cost analysis) with an input shape it cannot take.
    case inputShape(layer: String, path: String, expected: String, found: [Int])
    /// A parameter index or shape that does not match the module's parameter.
    case parameterMismatch(owner: String, detail: String)
    /// A state dict listing the same key twice.
    case duplicateStateDictKey(String)

    public var description: String {
        switch self {
        case let .invalidKey(owner, key):
            "\(owner): invalid member key \"\(key)\" (must be non-empty and contain no '.')"
        case let .duplicateKey(owner, key):
            "\(owner): a member with the key \"\(key)\" is already registered"
        case let .childRegisteredTwice(key, owner):
            "\(owner): the child slot \"\(key)\" is already registered (a slot belongs to one module, once)"
        case let .unregisteredChild(key, type):
            "the child \"\(key)\" (\(type)) was used before its owner registered it: call register(…) in the owner's init"
        case let .noModule(path, model, known):
            "no module at \"\(path)\" in \(model)" + (known.isEmpty ? "" : " (e.g. \(known.joined(separator: ", ")))")
        case .emptyPath:
            "replace: empty module path (name a descendant such as \"layer2.1\")"
        case let .wrongChildType(path, expected, found):
            "cannot put a \(found) at \"\(path)\": that child is typed \(expected)"
        case let .forwardNotImplemented(type):
            "\(type) does not implement forward(_:)"
        case let .invalidConfiguration(layer, detail):
            "\(layer): \(detail)"
        case let .inputShape(layer, path, expected, found):
            "\(layer) at \"\(path)\" expects \(expected), got shape \(found)"
        case let .parameterMismatch(owner, detail):
            "\(owner): \(detail)"
        case let .duplicateStateDictKey(key):
            "state dict has the key \"\(key)\" twice"
        }
    }
}
