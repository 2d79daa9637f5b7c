import Datasets
import Foundation
import Models
import NN
import Serialization
import Torch

/// Bringing weights saved by PyTorch into a lacoot model: a `state_dict` from `torch.save`
/// (`.pth`/`.pt`) or a `.safetensors` file, matched key by key under PyTorch's names.
public enum WeightImport {
    /// What an import read and did (saved as the run's import.json).
    public struct Report: Codable, Sendable, Equatable {
        public var source: String
        /// "torch.save" or "safetensors".
        public var format: String
        public var tensorsInFile: Int
        public var loaded: Int
        /// Classifier keys left at their fresh initialization (a new class count).
        public var reinitialized: [String]
        /// Class count and input channels the file's weights have.
        public var fileClassCount: Int?
        public var fileInputChannels: Int?
        /// The model's input: normalization and image size the weights expect. A nil size (a
        /// convolutional network imported without `--image-size`) takes the data's own size.
        public var normalization: Normalization
        public var imageSize: Int?
        /// The checkpoint dict's entry the weights came from ("model_state_dict"); nil for the top-level dict.
        public var key: String?
        /// The wrapper prefix stripped from every key ("module."), when there was one.
        public var strippedPrefix: String?
        /// Conversions to float32, e.g. "122 float16 tensors"; nil when none was needed.
        public var converted: [String]?

        public init(source: String, format: String, tensorsInFile: Int, loaded: Int, reinitialized: [String],
                    fileClassCount: Int?, fileInputChannels: Int?, normalization: Normalization, imageSize: Int?,
                    key: String? = nil, strippedPrefix: String? = nil, converted: [String]? = nil) {
            self.key = key
            self.strippedPrefix = strippedPrefix
            self.converted = converted
            self.source = source
            self.format = format
            self.tensorsInFile = tensorsInFile
            self.loaded = loaded
            self.reinitialized = reinitialized
            self.fileClassCount = fileClassCount
            self.fileInputChannels = fileInputChannels
            self.normalization = normalization
            self.imageSize = imageSize
        }
    }

    /// The weights a file gave, ready to load: float32, under the model's names.
    public struct Weights {
        public var tensors: [NamedTensor]
        /// "safetensors", "torch.save" or "torch.save legacy format".
        public var format: String
        /// The entry of the checkpoint dict they came from (nil: the top-level dict).
        public var key: String?
        /// The wrapper prefix stripped from every name ("" for none).
        public var strippedPrefix: String
        /// Tensors converted to float32, per source dtype ("122 float16 tensors").
        public var converted: [String]
    }

    /// The state dict of `url` (safetensors by extension, otherwise `torch.save`'s zip or legacy
    /// format) that fits a model with `modelKeys` — chosen among the file's state dicts
    /// (`requestedKey` chooses when several fit; ``StateDictSelection``), wrapper prefixes
    /// stripped, half, bfloat16 and double tensors converted to float32.
    public static func read(_ url: URL, modelKeys: Set<String>, classifierPrefix: String?,
                            requestedKey: String?) throws -> Weights {
        let file: PyTorchCheckpoint?
        let candidates: [StateDictCandidate]
        var safetensors: [NamedTensor] = []
        if url.pathExtension.lowercased() == "safetensors" {
            file = nil
            safetensors = try Safetensors.read(contentsOf: url).tensors
            candidates = [StateDictCandidate(key: nil, names: safetensors.map(\.name))]
        } else {
            file = try PyTorchCheckpoint(contentsOf: url)
            candidates = file?.candidates ?? []
        }
        let selection = try StateDictSelection.choose(candidates, modelKeys: modelKeys, optionalPrefix: classifierPrefix,
                                                      requestedKey: requestedKey, file: url.path)
        let raw = try file?.tensors(of: selection.candidate) ?? safetensors
        var tensors: [NamedTensor] = []
        var counts: [DType: Int] = [:]
        for ((_, tensor), name) in zip(raw, selection.names) {
            if tensor.dtype.isFloatingPoint, tensor.dtype != .float32 {
                counts[tensor.dtype, default: 0] += 1
                tensors.append((name, try tensor.to(.float32)))
            } else {
                tensors.append((name, tensor))
            }
        }
        let converted = counts.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "\($0.value) \($0.key) tensor\($0.value == 1 ? "" : "s")" }
        return Weights(tensors: tensors, format: file?.format.rawValue ?? "safetensors", key: selection.candidate.key,
                       strippedPrefix: selection.strippedPrefix, converted: converted)
    }

    /// The class count and input channels `tensors` were trained with, read at the family's
    /// classifier and stem keys (nil when the keys are absent).
    public static func shapes(of tensors: [NamedTensor], rules: ModelFamily.ImportRules) -> (classes: Int?, channels: Int?) {
        let classifier = tensors.first { $0.name == rules.classifierPrefix + "weight" }?.tensor.shape
        let stem = tensors.first { $0.name == rules.stemKey }?.tensor.shape
        return (classifier.flatMap { $0.count == 2 ? $0[0] : nil }, stem.flatMap { $0.count == 4 ? $0[1] : nil })
    }

    /// Loads `tensors` into `model`; with `reinitializeClassifier` the classifier keeps its
    /// fresh initialization. Every other key must match in name and shape both ways, or the
    /// error lists the missing, unexpected and mismatched keys under PyTorch's names.
    public static func load(_ tensors: [NamedTensor], into model: any CollapsibleModel,
                            reinitializeClassifier: Bool) throws -> (loaded: Int, reinitialized: [String]) {
        let prefix = try model.architecture.kind.family.importRules.classifierPrefix
        let kept = reinitializeClassifier ? tensors.filter { !$0.name.hasPrefix(prefix) } : tensors
        let report = try model.load(stateDict: kept, strict: false)
        let reinitialized = reinitializeClassifier ? report.missing.filter { $0.hasPrefix(prefix) } : []
        let missing = report.missing.filter { !reinitialized.contains($0) }
        guard missing.isEmpty, report.unexpected.isEmpty, report.shapeMismatched.isEmpty else {
            throw ImportError.keysDiffer(model: model.architecture.label, missing: missing, unexpected: report.unexpected,
                                         mismatched: report.shapeMismatched.map { "\($0.key) (file \($0.found), model \($0.expected))" })
        }
        return (report.loaded, reinitialized)
    }
}

/// Why weights could not be imported.
public enum ImportError: Error, CustomStringConvertible, Equatable {
    case keysDiffer(model: String, missing: [String], unexpected: [String], mismatched: [String])
    /// `--key` names no state dict of the file.
    case noSuchKey(file: String, key: String, candidates: [String])
    /// Several state dicts of the file fit the model.
    case ambiguous(file: String, candidates: [String])
    /// The file lists no state dict.
    case noStateDict(file: String, found: String)

    /// Whether the user settles it with a flag (`--key`): a usage error.
    public var isUsage: Bool {
        switch self {
        case .noSuchKey, .ambiguous: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case let .noSuchKey(file, key, candidates):
            return "--key \(key): \(file) has no state dict under that name"
                + (candidates.isEmpty ? " (its only state dict is its top level; omit --key)" : " (it has: \(candidates.joined(separator: ", ")))")
        case let .ambiguous(file, candidates):
            return "\(file) holds \(candidates.count) state dicts that fit the model (\(candidates.joined(separator: ", "))); choose one with --key NAME"
        case let .noStateDict(file, found):
            return "\(file): no state dict (found \(found))"
        case let .keysDiffer(model, missing, unexpected, mismatched):
            func list(_ title: String, _ keys: [String]) -> String? {
                guard !keys.isEmpty else { return nil }
                let shown = keys.prefix(6).joined(separator: ", ")
                return "\(keys.count) \(title) (\(shown)\(keys.count > 6 ? ", …" : ""))"
            }
            let parts = [list("missing", missing), list("unexpected", unexpected), list("with other shapes", mismatched)]
                .compactMap { $0 }.joined(separator: "; ")
            return "the weights do not fit \(model): \(parts) — check --model and its size flags"
        }
    }
}
