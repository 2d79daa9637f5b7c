/// An error about a model: its architecture, its blocks or its saved file. Each case names
/// the block, file or setting concerned.
public enum ModelError: Error, CustomStringConvertible, Sendable, Equatable {
    /// An architecture a model cannot be built with.
    case invalidArchitecture(String)
    /// A model kind no registered family builds (``ModelRegistry``).
    case unknownKind(String)
    /// A name that is not one of the model's collapsible blocks.
    case notCollapsible(block: String, model: String, collapsible: [String])
    /// A block collapsed a second time.
    case alreadyCollapsed(block: String)
    /// A list of blocks naming a block twice.
    case blockListedTwice([String])
    /// A collapsible block that cost analysis did not reach (a model definition error).
    case blockNotReached(block: String)
    /// A residual block whose shortcut and main path end in different shapes.
    case residualShape(block: String, residual: [Int], main: [Int])
    /// A model file that does not exist; `namedBy` is the manifest that names it (the weights
    /// next to a JSON manifest), nil when the user named it.
    case missingFile(path: String, namedBy: String?)
    /// A file without a lacoot manifest (e.g. a plain state dict).
    case notAModelFile(path: String)
    /// A manifest that cannot be read.
    case invalidManifest(path: String, detail: String)
    /// A manifest of another format, or of a version newer than this build reads.
    case unsupportedFormat(path: String, format: String, version: Int)
    /// Weights that do not match the model the manifest describes.
    case weightsMismatch(path: String, detail: String)

    public var description: String {
        switch self {
        case let .invalidArchitecture(detail):
            detail
        case let .unknownKind(kind):
            "unknown model kind \"\(kind)\" (this build knows \(ModelRegistry.kinds.map(\.rawValue).joined(separator: ", ")))"
        case let .notCollapsible(block, model, collapsible):
            "\"\(block)\" is not a collapsible block of \(model) (collapsible: \(collapsible.joined(separator: ", ")))"
        case let .alreadyCollapsed(block):
            "block \"\(block)\" is already collapsed"
        case let .blockListedTwice(names):
            "block list \(names) names a block twice"
        case let .blockNotReached(block):
            "cost analysis did not reach block \"\(block)\""
        case let .residualShape(block, residual, main):
            "block at \"\(block)\": residual shape \(residual) differs from \(main)"
        case let .missingFile(path, namedBy?):
            "\(path) not found: \(namedBy) names it as its weights (keep a saved model's .json and .safetensors side by side)"
        case let .missingFile(path, nil):
            "\(path) not found"
        case let .notAModelFile(path):
            "\(path): no lacoot manifest in the metadata; not a model saved by lacoot "
                + "(load a plain state dict with Module.load(stateDict:))"
        case let .invalidManifest(path, detail):
            "\(path) is not a valid lacoot model manifest: \(detail)"
        case let .unsupportedFormat(path, format, version):
            "\(path): format \"\(format)\" version \(version) is not one this build reads "
                + "(a newer lacoot wrote it?)"
        case let .weightsMismatch(path, detail):
            "\(path) does not match the manifest's model: \(detail)"
        }
    }
}
