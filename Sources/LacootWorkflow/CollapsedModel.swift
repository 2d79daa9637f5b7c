import Datasets
import Foundation
import LaCoOT
import LacootSupport
import Models
import NN
import Torch

/// A model saved for deployment by the CLI: `<name>.safetensors` (PyTorch's keys, no entries
/// for removed blocks, the manifest in its metadata) plus `<name>.json`, the same
/// ``ModelManifest`` (Models' one versioned format) as a file a user reads first.
///
/// A PyTorch user builds the same architecture, replaces each block listed in
/// `removed_blocks` with `nn.Identity()`, and loads the weights with
/// `model.load_state_dict(safetensors.torch.load_file(path))`.
public enum CollapsedModel {
    /// Saves `model` as `<name>.safetensors` + `<name>.json` next to `manifestURL` (both
    /// atomic). `inputShape` is one sample's [C, H, W] as the model was trained and measured
    /// (default: the architecture's nominal size). Returns the manifest's URL.
    @discardableResult
    public static func save(_ model: any CollapsibleModel, normalization: Normalization, classNames: [String] = [],
                            inputShape: [Int]? = nil, to manifestURL: URL) throws -> URL {
        let weightsURL = manifestURL.deletingPathExtension().appendingPathExtension("safetensors")
        let manifest = try ModelFile.save(model, to: weightsURL, classNames: classNames,
                                          normalization: InputNormalization(mean: normalization.mean, std: normalization.std),
                                          inputShape: inputShape)
        try AtomicFile.write(try manifest.json(pretty: true), to: manifestURL)
        return manifestURL
    }

    /// Loads a model saved by ``save(_:normalization:classNames:to:)`` — or by an earlier
    /// version of the CLI — from its JSON manifest: rebuilds the architecture, collapses the
    /// recorded blocks and loads the weights (which must match exactly).
    public static func load(from manifestURL: URL) throws -> (model: any CollapsibleModel, manifest: ModelManifest) {
        try ModelFile.load(from: manifestURL)
    }
}
