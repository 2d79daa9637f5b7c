import Datasets
import Foundation
import LaCoOT
import LacootReport
import LacootSupport
import Models
import NN
import Torch

/// A model saved for deployment: safetensors weights (PyTorch's keys, no entries for removed
/// blocks) plus a JSON manifest that says how to rebuild it.
///
/// A PyTorch user builds the same architecture, replaces each block listed in
/// `removedBlocks` with `nn.Identity()`, and loads the weights with
/// `model.load_state_dict(safetensors.torch.load_file(path))`.
public struct CollapsedModelManifest: Codable, Sendable, Equatable {
    public static let format = "lacoot.collapsed-model"
    public var format: String = CollapsedModelManifest.format
    public var architecture: ModelArchitecture
    /// Blocks replaced by the identity, in forward order.
    public var removedBlocks: [String]
    /// One sample's shape, [C, H, W].
    public var inputShape: [Int]
    public var classCount: Int
    public var classNames: [String]
    /// Per-channel normalization applied to inputs in [0, 1]: (x − mean) / std.
    public var normalization: Normalization
    /// The weights file, relative to the manifest.
    public var weights: String
    public var parameters: Int
    public var macs: Int
    public var pytorch: String

    enum CodingKeys: String, CodingKey {
        case format, architecture, weights, parameters, macs, pytorch, normalization
        case removedBlocks = "removed_blocks"
        case inputShape = "input_shape"
        case classCount = "class_count"
        case classNames = "class_names"
    }
}

public enum CollapsedModel {
    /// Saves `model` as `<name>.safetensors` + `<name>.json` in `folder` (both atomic).
    /// Returns the manifest's URL.
    @discardableResult
    public static func save(_ model: any CollapsibleModel, normalization: Normalization, classNames: [String] = [],
                            to manifestURL: URL) throws -> URL {
        let weightsURL = manifestURL.deletingPathExtension().appendingPathExtension("safetensors")
        let removed = model.collapsibleBlockNames.filter { model.collapsedBlocks.contains($0) }
        let manifest = CollapsedModelManifest(
            architecture: model.architecture, removedBlocks: removed, inputShape: model.nominalInputShape,
            classCount: model.architecture.classCount, classNames: classNames, normalization: normalization,
            weights: weightsURL.lastPathComponent, parameters: model.parameterCount, macs: try model.cost().totalMACs,
            pytorch: "build \(model.architecture.label), set " + (removed.isEmpty ? "no block" : removed.joined(separator: ", "))
                + " to nn.Identity(), then load_state_dict(safetensors.torch.load_file('\(weightsURL.lastPathComponent)'))")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let json = try encoder.encode(manifest)
        try Safetensors.write(model.stateDict(), metadata: ["lacoot_manifest": String(decoding: json, as: UTF8.self)],
                              to: weightsURL)
        try AtomicFile.write(json, to: manifestURL)
        return manifestURL
    }

    /// Loads a model saved by ``save(_:normalization:classNames:to:)``: rebuilds the
    /// architecture, collapses the recorded blocks and loads the weights (strictly).
    public static func load(from manifestURL: URL) throws -> (model: any CollapsibleModel, manifest: CollapsedModelManifest) {
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
            throw RunFolderError("model manifest \(manifestURL.path) not found")
        }
        let manifest: CollapsedModelManifest
        do {
            manifest = try JSONDecoder().decode(CollapsedModelManifest.self, from: data)
        } catch {
            throw RunFolderError("\(manifestURL.path) is not a collapsed-model manifest: \(error)")
        }
        guard manifest.format == CollapsedModelManifest.format else {
            throw RunFolderError("\(manifestURL.path): format is \"\(manifest.format)\", expected \"\(CollapsedModelManifest.format)\"")
        }
        let model = try ModelManifest(architecture: manifest.architecture, collapsedBlocks: manifest.removedBlocks).build()
        let weightsURL = manifestURL.deletingLastPathComponent().appendingPathComponent(manifest.weights)
        let file = try Safetensors.read(contentsOf: weightsURL)
        let report = try model.load(stateDict: file.tensors, strict: false)
        guard report.isClean else {
            throw RunFolderError("\(weightsURL.path) does not match the manifest's model: \(report)")
        }
        model.eval()
        return (model, manifest)
    }
}
