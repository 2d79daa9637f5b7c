import Foundation
import Models

/// The `metadata_props` lacoot writes into an exported model: what a deployment needs to feed
/// it and read its output, and where it came from.
///
/// Keys: `lacoot.input` and `lacoot.output` (names, types, shapes, in words), `lacoot.normalization`
/// (`{"mean": [...], "std": [...]}`, applied to pixels scaled to [0, 1]), `lacoot.class_names`
/// (a JSON array in label order), `lacoot.architecture` (the JSON lacoot rebuilds the model
/// from), `lacoot.removed_blocks` (a JSON array), `lacoot.macs` (one sample, PyTorch's count).
public enum ONNXMetadata {
    public static func properties(architecture: ModelArchitecture, removedBlocks: [String], classNames: [String],
                                  mean: [Float], std: [Float], inputShape: [Int], macs: Int,
                                  options: ONNXExportOptions) -> [String: String] {
        let batch: String
        switch options.batch {
        case .dynamic: batch = "batch"
        case .fixed(let n): batch = String(n)
        }
        let input = ([batch] + inputShape.map(String.init)).joined(separator: ", ")
        return [
            "lacoot.input": "\(options.inputName): float32 [\(input)], pixels scaled to [0, 1] then (x - mean) / std per channel",
            "lacoot.output": "\(options.outputName): float32 [\(batch), \(architecture.classCount)], logits (softmax for probabilities)",
            "lacoot.normalization": json(["mean": mean, "std": std]),
            "lacoot.class_names": json(classNames),
            "lacoot.architecture": json(architecture),
            "lacoot.model": architecture.label,
            "lacoot.removed_blocks": json(removedBlocks),
            "lacoot.macs": String(macs),
            "lacoot.precision": options.precision.rawValue,
        ]
    }

    private static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}
