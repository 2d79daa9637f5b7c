import Foundation

/// An operation of the Torch layer as a graph capture records it: the kernel and the settings
/// it was called with (the tensors are the node's inputs).
public enum TensorOperation: Sendable, Hashable {
    public enum Unary: String, Sendable, Hashable {
        case neg, abs, sqrt, rsqrt, exp, log, square, sign, floor, ceil, round, erfinv, relu, relu6, gelu, geluTanh
        case sigmoid, tanh, isFinite, logicalNot
    }

    public enum Binary: String, Sendable, Hashable {
        case add, sub, mul, div, pow, maximum, minimum, remainder, eq, ne, lt, le, gt, ge
    }

    public enum Reduction: String, Sendable, Hashable { case sum, mean, amax, amin, variance }

    case unary(Unary)
    /// Two tensors, broadcasting.
    case binary(Binary)
    /// A tensor and a number (`x + 2`).
    case binaryScalar(Binary, Double)
    case clamp(min: Double?, max: Double?)
    case matmul
    /// Inputs: x, weight, bias (optional).
    case conv2d(stride: [Int], padding: [Int], dilation: [Int], groups: Int)
    /// Inputs: x, weight, bias (optional).
    case linear
    /// Inputs: x, weight, bias, running mean, running variance (each but x optional).
    case batchNorm(training: Bool, eps: Double)
    /// Inputs: x, weight, bias (optional).
    case layerNorm(normalizedShape: [Int], eps: Double)
    case maxPool2d(kernel: [Int], stride: [Int], padding: [Int], dilation: [Int], ceilMode: Bool)
    case avgPool2d(kernel: [Int], stride: [Int], padding: [Int], ceilMode: Bool, countIncludePad: Bool)
    case adaptiveAvgPool2d(outputSize: [Int])
    case softmax(dim: Int)
    case logSoftmax(dim: Int)
    case dropout(p: Double, training: Bool)
    /// Inputs: query, key, value, mask (optional).
    case scaledDotProductAttention(dropout: Double)
    case toDType(DType)
    /// A layout change or a move between devices: the same values.
    case sameValues(String)
    case reshape([Int])
    case permute([Int])
    case transpose(Int, Int)
    case flatten(start: Int, end: Int)
    case expand([Int])
    case unsqueeze(Int)
    case squeeze(Int)
    case cat(dim: Int)
    case stack(dim: Int)
    case narrow(dim: Int, start: Int, length: Int)
    case select(dim: Int, index: Int)
    /// Inputs: the tensor, the int64 indices.
    case indexSelect(dim: Int)
    case gather(dim: Int)
    /// PyTorch's `F.pad` order: (last-dim left, last-dim right, …).
    case pad([Int], value: Double)
    case roll(shifts: [Int], dims: [Int])
    case flip([Int])
    case reduce(Reduction, dims: [Int], keepDim: Bool)
    /// Inputs: condition, a, b.
    case `where`
    /// Writes into its first input (`add_`, `copy_`, …).
    case inPlace(String)
    /// Any other kernel, by its binding's name.
    case other(String)

    /// A short name for messages ("conv2d", "roll", "inPlace(add_)").
    public var name: String {
        switch self {
        case .unary(let u): u.rawValue
        case .binary(let b): b.rawValue
        case .binaryScalar(let b, _): "\(b.rawValue) (with a number)"
        case .inPlace(let n), .other(let n), .sameValues(let n): n
        default: String(String(describing: self).prefix { $0 != "(" })
        }
    }
}

/// One recorded call: the operation, its tensor inputs (nil for an absent optional one), its
/// outputs, and the module it ran in (dotted path, "" for the model itself).
public struct CapturedNode: @unchecked Sendable {
    public let operation: TensorOperation
    public let inputs: [Tensor?]
    public let outputs: [Tensor]
    public let scope: String
}

/// The operations of a real forward pass, recorded as they run through the Torch layer.
///
/// While a capture is active on a thread, every tensor operation called on that thread appends
/// a ``CapturedNode``; the tensors are kept alive, so a node's inputs are identified by object
/// identity (a tensor that no node produced is a leaf: a parameter, a buffer or a constant).
/// The forward pass itself runs as usual and returns its real result. Modules name the scope
/// (see `Module.callAsFunction`).
///
/// ```swift
/// let (logits, capture) = try GraphCapture.record { try model(input) }
/// print(capture.nodes.count, capture.macs)
/// ```
public final class GraphCapture: @unchecked Sendable {
    public private(set) var nodes: [CapturedNode] = []
    /// Names of the scopes a caller can enter (module object → dotted path).
    private let scopeNames: [ObjectIdentifier: String]
    private var scopeStack: [String] = []

    private init(scopeNames: [ObjectIdentifier: String]) { self.scopeNames = scopeNames }

    /// The capture active on the calling thread, if any.
    public static var current: GraphCapture? {
        guard let raw = pthread_getspecific(threadKey) else { return nil }
        return Unmanaged<GraphCapture>.fromOpaque(raw).takeUnretainedValue()
    }

    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Runs `body` with a capture active on this thread and returns its result with the
    /// capture. `scopeNames` maps objects (modules) to the names ``enter(_:)`` reports.
    /// Captures do not nest.
    public static func record<R>(scopeNames: [ObjectIdentifier: String] = [:], _ body: () throws -> R) throws
        -> (result: R, capture: GraphCapture) {
        guard current == nil else { throw TorchError("a graph capture is already active on this thread") }
        let capture = GraphCapture(scopeNames: scopeNames)
        let unmanaged = Unmanaged.passRetained(capture)
        pthread_setspecific(threadKey, unmanaged.toOpaque())
        defer {
            pthread_setspecific(threadKey, nil)
            unmanaged.release()
        }
        return (try body(), capture)
    }

    /// For each tensor a node reads, the indices of the nodes that read it, in order (a
    /// tensor read twice by one node is listed twice).
    public var readers: [ObjectIdentifier: [Int]] {
        var readers: [ObjectIdentifier: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            for case let tensor? in node.inputs { readers[ObjectIdentifier(tensor), default: []].append(index) }
        }
        return readers
    }

    /// The module path of the innermost scope entered ("" outside every named one).
    public var scope: String { scopeStack.last ?? "" }

    /// Enters the scope of `object` (a module called); unnamed objects keep the enclosing scope.
    public func enter(_ object: ObjectIdentifier) { scopeStack.append(scopeNames[object] ?? scope) }

    public func exit() { _ = scopeStack.popLast() }

    func append(_ operation: TensorOperation, _ inputs: [Tensor?], _ outputs: [Tensor]) {
        nodes.append(CapturedNode(operation: operation, inputs: inputs, outputs: outputs, scope: scope))
    }
}

/// Records `output` as the result of `operation` on `inputs` when a capture is active on this
/// thread; returns `output`. The closures are evaluated only while capturing.
@inline(__always)
func traced(_ output: Tensor, _ operation: @autoclosure () -> TensorOperation,
            _ inputs: @autoclosure () -> [Tensor?]) -> Tensor {
    if let capture = GraphCapture.current { capture.append(operation(), inputs(), [output]) }
    return output
}

/// Records an operation with several outputs (values and indices).
@inline(__always)
func traced(_ outputs: (Tensor, Tensor), _ operation: @autoclosure () -> TensorOperation,
            _ inputs: @autoclosure () -> [Tensor?]) -> (Tensor, Tensor) {
    if let capture = GraphCapture.current { capture.append(operation(), inputs(), [outputs.0, outputs.1]) }
    return outputs
}

/// Records an in-place write into `target` (reading `sources`).
@inline(__always)
func tracedInPlace(_ name: @autoclosure () -> String, _ target: Tensor, _ sources: @autoclosure () -> [Tensor?]) {
    if let capture = GraphCapture.current { capture.append(.inPlace(name()), [target] + sources(), []) }
}
