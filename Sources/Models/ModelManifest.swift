import Foundation
import NN
import Torch

/// Per-channel normalization of inputs scaled to [0, 1]: (x − mean) / std.
public struct InputNormalization: Codable, Hashable, Sendable {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        self.mean = mean
        self.std = std
    }
}

/// What rebuilds a saved model: the architecture and the blocks collapsed to the identity,
/// plus what a user of the file needs (input shape, class names, normalization, cost, the
/// weights file). One versioned format, written into the safetensors metadata and, by the CLI,
/// as a JSON file next to the weights:
///
/// ```json
/// {"format": "lacoot.model", "version": 1,
///  "architecture": {"kind": "resNet18", "classCount": 10, "inputChannels": 1, "stem": "cifar", "width": 64},
///  "removed_blocks": ["layer3.1"], "weights": "collapsed.safetensors", "input_shape": [1, 32, 32], …}
/// ```
///
/// The reader also accepts the two forms written before version 1: the CLI's collapsed-model
/// manifest (`"format": "lacoot.collapsed-model"`, no version) and the model files' bare
/// manifest (`architecture` + `collapsedBlocks`, no format). A PyTorch user builds the same
/// architecture, sets each block of `removed_blocks` to `nn.Identity()` and loads the weights
/// strictly.
public struct ModelManifest: Codable, Hashable, Sendable {
    public static let formatName = "lacoot.model"
    public static let currentVersion = 1
    /// The CLI's format before version 1 (read as version 0).
    public static let legacyCollapsedFormat = "lacoot.collapsed-model"
    /// The `format` reported for a bare manifest of the first model files (read as version 0).
    public static let legacyBareFormat = "lacoot.manifest"

    public var format: String
    public var version: Int
    public var architecture: ModelArchitecture
    /// Blocks replaced by the identity, in forward order.
    public var removedBlocks: [String]
    /// One sample's shape, [C, H, W], as the model takes it: the size it was imported or trained
    /// at (files written before that was recorded: the architecture's nominal size).
    public var inputShape: [Int]?
    /// Class names, in label order (empty when unknown).
    public var classNames: [String]
    public var normalization: InputNormalization?
    /// The weights file, relative to the JSON manifest.
    public var weights: String?
    public var parameters: Int?
    public var macs: Int?
    /// How to load the weights in PyTorch, in one sentence.
    public var pytorch: String?

    public var classCount: Int { architecture.classCount }

    public init(architecture: ModelArchitecture, removedBlocks: [String] = []) {
        self.format = Self.formatName
        self.version = Self.currentVersion
        self.architecture = architecture
        self.removedBlocks = removedBlocks
        self.classNames = []
    }

    /// The manifest of `model` as it is now: architecture, removed blocks, input shape,
    /// parameters and MACs — at `inputShape` ([C, H, W]: the size the model was imported or
    /// trained at) when given, else at the architecture's nominal size.
    public init(describing model: any CollapsibleModel, inputShape: [Int]? = nil) throws {
        self.init(architecture: model.architecture, removedBlocks: model.collapsibleBlockNames.filter {
            model.collapsedBlocks.contains($0)
        })
        let shape = inputShape ?? model.nominalInputShape
        guard shape.count == 3, shape[0] == model.architecture.inputChannels, shape[1] > 0, shape[2] > 0 else {
            throw ModelError.invalidArchitecture("input shape \(shape) is not [\(model.architecture.inputChannels), H, W] for \(model.architecture.label)")
        }
        self.inputShape = shape
        parameters = model.parameterCount
        macs = try model.cost(height: shape[1], width: shape[2]).totalMACs
    }

    /// The side of the square images the model takes: the height of `input_shape`, or the
    /// architecture's nominal size for a manifest that records none.
    public var inputSide: Int { inputShape.flatMap { $0.count == 3 ? $0[1] : nil } ?? architecture.nominalInputSize }

    /// Builds the architecture (weights from `generator`, seed 0 when nil) and collapses the
    /// recorded blocks.
    public func build(generator: Generator? = nil) throws -> any CollapsibleModel {
        let model = try architecture.build(generator: generator)
        try model.collapse(removedBlocks)
        return model
    }

    enum CodingKeys: String, CodingKey {
        case format, version, architecture, weights, parameters, macs, pytorch, normalization
        case removedBlocks = "removed_blocks"
        case inputShape = "input_shape"
        case classCount = "class_count"
        case classNames = "class_names"
        case legacyCollapsedBlocks = "collapsedBlocks"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architecture = try c.decode(ModelArchitecture.self, forKey: .architecture)
        if let format = try c.decodeIfPresent(String.self, forKey: .format) {
            self.format = format
            version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 0
            removedBlocks = try c.decode([String].self, forKey: .removedBlocks)
        } else {
            format = Self.legacyBareFormat
            version = 0
            removedBlocks = try c.decode([String].self, forKey: .legacyCollapsedBlocks)
        }
        inputShape = try c.decodeIfPresent([Int].self, forKey: .inputShape)
        classNames = try c.decodeIfPresent([String].self, forKey: .classNames) ?? []
        normalization = try c.decodeIfPresent(InputNormalization.self, forKey: .normalization)
        weights = try c.decodeIfPresent(String.self, forKey: .weights)
        parameters = try c.decodeIfPresent(Int.self, forKey: .parameters)
        macs = try c.decodeIfPresent(Int.self, forKey: .macs)
        pytorch = try c.decodeIfPresent(String.self, forKey: .pytorch)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(version, forKey: .version)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(removedBlocks, forKey: .removedBlocks)
        try c.encode(classCount, forKey: .classCount)
        try c.encode(classNames, forKey: .classNames)
        try c.encodeIfPresent(inputShape, forKey: .inputShape)
        try c.encodeIfPresent(normalization, forKey: .normalization)
        try c.encodeIfPresent(weights, forKey: .weights)
        try c.encodeIfPresent(parameters, forKey: .parameters)
        try c.encodeIfPresent(macs, forKey: .macs)
        try c.encodeIfPresent(pytorch, forKey: .pytorch)
    }

    /// The manifest as JSON (sorted keys; `pretty` for the CLI's file).
    public func json(pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys]
        return try encoder.encode(self)
    }

    /// Reads a manifest from JSON, in any form this build knows; `source` names the file in errors.
    public init(json: Data, source: String) throws {
        do {
            self = try JSONDecoder().decode(ModelManifest.self, from: json)
        } catch {
            throw ModelError.invalidManifest(path: source, detail: "\(error)")
        }
        let known = format == Self.formatName || format == Self.legacyCollapsedFormat || format == Self.legacyBareFormat
        guard known, version <= Self.currentVersion else {
            throw ModelError.unsupportedFormat(path: source, format: format, version: version)
        }
    }
}
