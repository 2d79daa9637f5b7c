import Foundation
import LacootSupport
import NN
import Serialization
import Torch

/// Saving and loading models: a safetensors file holding the plain state dict (PyTorch's keys,
/// no entries for removed blocks; readable by `safetensors.torch.load_file`) with the
/// ``ModelManifest`` in its metadata under `lacoot_manifest`, so a collapsed model reloads
/// without being told its blocks. The CLI also writes the manifest as a JSON file next to the
/// weights; ``load(from:)`` takes either file.
///
/// ```swift
/// try ModelFile.save(model, to: url)
/// let (reloaded, manifest) = try ModelFile.load(from: url)
/// ```
public enum ModelFile {
    /// The metadata key of the manifest.
    public static let metadataKey = "lacoot_manifest"
    /// The key the first model files used (still read).
    public static let legacyMetadataKey = "lacoot.manifest"

    /// Writes the model's state dict to `url` (atomically) with its manifest — the model as it
    /// is now, plus `classNames`, `normalization` and `inputShape` ([C, H, W] the model takes;
    /// default: the architecture's nominal size) — in the metadata, and returns the manifest.
    @discardableResult
    public static func save(_ model: any CollapsibleModel, to url: URL, classNames: [String] = [],
                            normalization: InputNormalization? = nil, inputShape: [Int]? = nil,
                            metadata: [String: String] = [:]) throws -> ModelManifest {
        var manifest = try ModelManifest(describing: model, inputShape: inputShape)
        manifest.classNames = classNames
        manifest.normalization = normalization
        manifest.weights = url.lastPathComponent
        let removed = manifest.removedBlocks.isEmpty ? "no block" : manifest.removedBlocks.joined(separator: ", ")
        manifest.pytorch = "build \(model.architecture.label), set \(removed) to nn.Identity(), then "
            + "load_state_dict(safetensors.torch.load_file('\(url.lastPathComponent)'))"
        var meta = metadata
        meta["format"] = "pt"
        meta[metadataKey] = String(decoding: try manifest.json(), as: UTF8.self)
        try Safetensors.write(model.stateDict(), metadata: meta, to: url)
        return manifest
    }

    /// The manifest of a model file: a JSON manifest (`.json`) or a safetensors file's metadata.
    public static func manifest(at url: URL) throws -> ModelManifest {
        guard FileManager.default.fileExists(atPath: url.path) else { throw ModelError.missingFile(path: url.path, namedBy: nil) }
        if url.pathExtension.lowercased() == "json" {
            if let problem = RegularFile.problem(at: url.path) { throw ModelError.invalidManifest(path: url.path, detail: "the path " + problem) }
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw ModelError.invalidManifest(path: url.path, detail: "the file cannot be read")
            }
            return try ModelManifest(json: data, source: url.path)
        }
        let meta = try Safetensors.readMetadata(contentsOf: url)
        guard let text = meta[metadataKey] ?? meta[legacyMetadataKey] else { throw ModelError.notAModelFile(path: url.path) }
        return try ModelManifest(json: Data(text.utf8), source: url.path)
    }

    /// Rebuilds the model a file records (collapsed blocks included) and loads its weights,
    /// which must match exactly. `url` is the safetensors file or the JSON manifest (whose
    /// `weights` names the safetensors file next to it). Returns the model in evaluation mode.
    /// Throws ``ModelError/missingFile(path:namedBy:)`` when either file is missing.
    public static func load(from url: URL) throws -> (model: any CollapsibleModel, manifest: ModelManifest) {
        let manifest = try manifest(at: url)
        var weightsURL = url
        if url.pathExtension.lowercased() == "json" {
            guard let weights = manifest.weights else {
                throw ModelError.invalidManifest(path: url.path, detail: "no \"weights\" file named")
            }
            weightsURL = try weightsFile(weights, namedBy: url)
            guard FileManager.default.fileExists(atPath: weightsURL.path) else {
                throw ModelError.missingFile(path: weightsURL.path, namedBy: url.path)
            }
        }
        let file = try Safetensors.read(contentsOf: weightsURL)
        let model = try manifest.build(generator: Generator(seed: 0))
        let report = try model.load(stateDict: file.tensors, strict: false)
        guard report.isClean else { throw ModelError.weightsMismatch(path: weightsURL.path, detail: report.description) }
        model.eval()
        return (model, manifest)
    }

    /// The weights file a JSON manifest names, which must lie in the manifest's own folder (or
    /// below it): a relative path with no `..` — never an absolute path, so a manifest someone
    /// hands over cannot make lacoot read a file elsewhere.
    static func weightsFile(_ weights: String, namedBy manifest: URL) throws -> URL {
        let parts = weights.split(separator: "/", omittingEmptySubsequences: false)
        guard !weights.isEmpty, !weights.hasPrefix("/"), !weights.hasPrefix("~"),
              !parts.contains(where: { $0 == ".." || $0.isEmpty }), !weights.contains("\0") else {
            throw ModelError.invalidManifest(path: manifest.path, detail: "\"weights\": \"\(weights)\" is not a file in the "
                + "manifest's folder (a relative name without \"..\", e.g. \"collapsed.safetensors\", is expected)")
        }
        return manifest.deletingLastPathComponent().appendingPathComponent(weights)
    }
}
