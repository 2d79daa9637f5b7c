import Datasets
import Foundation
import Models
import NN
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
        /// The model's input: normalization and image size the weights expect.
        public var normalization: Normalization
        public var imageSize: Int

        public init(source: String, format: String, tensorsInFile: Int, loaded: Int, reinitialized: [String],
                    fileClassCount: Int?, fileInputChannels: Int?, normalization: Normalization, imageSize: Int) {
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

    /// The tensors of `url`: safetensors by extension, otherwise torch.save's zip format.
    public static func readTensors(_ url: URL) throws -> (tensors: [NamedTensor], format: String) {
        if url.pathExtension.lowercased() == "safetensors" {
            return (try Safetensors.read(contentsOf: url).tensors, "safetensors")
        }
        return (try PyTorchCheckpoint.read(contentsOf: url), "torch.save")
    }

    /// The key prefix of a family's classifier (torchvision's names).
    public static func classifierPrefix(_ kind: ModelArchitecture.Kind) -> String {
        switch kind {
        case .mobileNetV2: "classifier.1."
        case .visionTransformer: "heads.head."
        case .swinTransformer: "head."
        default: "fc."
        }
    }

    /// The key of a family's first convolution (its weight is [out, in channels, kh, kw]).
    public static func stemKey(_ kind: ModelArchitecture.Kind) -> String {
        switch kind {
        case .mobileNetV2, .swinTransformer: "features.0.0.weight"
        case .visionTransformer: "conv_proj.weight"
        default: "conv1.weight"
        }
    }

    /// The class count and input channels `tensors` were trained with (nil when the keys are absent).
    public static func shapes(of tensors: [NamedTensor], kind: ModelArchitecture.Kind) -> (classes: Int?, channels: Int?) {
        let classifier = tensors.first { $0.name == classifierPrefix(kind) + "weight" }?.tensor.shape
        let stem = tensors.first { $0.name == stemKey(kind) }?.tensor.shape
        return (classifier.flatMap { $0.count == 2 ? $0[0] : nil }, stem.flatMap { $0.count == 4 ? $0[1] : nil })
    }

    /// Loads `tensors` into `model`; with `reinitializeClassifier` the classifier keeps its
    /// fresh initialization. Every other key must match in name and shape both ways, or the
    /// error lists the missing, unexpected and mismatched keys under PyTorch's names.
    public static func load(_ tensors: [NamedTensor], into model: any CollapsibleModel,
                            reinitializeClassifier: Bool) throws -> (loaded: Int, reinitialized: [String]) {
        let prefix = classifierPrefix(model.architecture.kind)
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

    public var description: String {
        switch self {
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
