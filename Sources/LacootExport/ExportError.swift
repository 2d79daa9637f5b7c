/// Why a model could not be exported, naming the operation and the module it ran in.
public enum ExportError: Error, CustomStringConvertible, Equatable, Sendable {
    /// An operation (or a setting of it) that the ONNX exporter cannot express.
    case unsupportedOperation(operation: String, module: String, detail: String)
    /// An operation that needs a newer opset than the one asked for.
    case opsetTooOld(operation: String, module: String, needed: Int, asked: Int)
    case unsupportedOpset(asked: Int, supported: ClosedRange<Int>)
    /// A shape that depends on the batch in a way a dynamic-batch graph cannot follow.
    case batchDependentShape(operation: String, module: String, detail: String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .unsupportedOperation(let op, let module, let detail):
            "cannot export operation '\(op)' in module '\(module.isEmpty ? "(model)" : module)': \(detail)"
        case .opsetTooOld(let op, let module, let needed, let asked):
            "operation '\(op)' in module '\(module.isEmpty ? "(model)" : module)' needs ONNX opset \(needed) or later; "
                + "--opset \(asked) was asked (use --opset \(needed))"
        case .unsupportedOpset(let asked, let supported):
            "--opset \(asked) is not supported: choose one of \(supported.lowerBound)–\(supported.upperBound)"
        case .batchDependentShape(let op, let module, let detail):
            "cannot export '\(op)' in module '\(module.isEmpty ? "(model)" : module)' with a dynamic batch: \(detail) "
                + "(use --batch N for a fixed batch size)"
        case .invalidOption(let message):
            message
        }
    }
}
