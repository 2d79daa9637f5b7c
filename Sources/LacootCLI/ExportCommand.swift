import ArgumentParser
import Costs
import Foundation
import LacootExport
import LacootSupport
import LacootWorkflow
import Models
import NN

/// `lacoot export`: the model as an ONNX file, from a capture of its own forward pass.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a trained, imported or collapsed model to ONNX (ONNX Runtime, TensorRT, OpenVINO, …).",
        discussion: """
        The graph is recorded from one real forward pass of the model in evaluation mode, so it computes exactly what lacoot computes: removed blocks are simply absent, BatchNorm is folded into the convolution before it, constants (Swin's relative-position bias and shift masks) are stored as initializers. The input is named `input` (float32 [batch, C, H, W]: pixels scaled to [0, 1], then normalized per channel) and the output `logits`; the normalization, class names, architecture, removed blocks and MACs are in the model's metadata (`lacoot.*` keys of metadata_props).

        --run-dir exports the folder's collapsed model when it has one (after `compress` or `collapse`), else its trained or imported model; --full takes the trained model even then.

        Examples:
          lacoot export --run-dir runs/demo/lambda-1 -o model.onnx
          lacoot export --model runs/a/collapsed.json --batch 1 -o b1.onnx
        """
    )

    /// `--batch`: `dynamic` or a fixed size.
    enum BatchSize: ExpressibleByArgument, Equatable {
        case dynamic
        case fixed(Int)

        init?(argument: String) {
            if argument == "dynamic" { self = .dynamic; return }
            guard let n = Int(argument), n > 0 else { return nil }
            self = .fixed(n)
        }

        static var defaultValueDescription: String { "dynamic" }
    }

    @Option(name: .customLong("run-dir"), help: "A run folder (its collapsed model if it has one, else its trained or imported model).")
    var runDirectory: String?
    @Option(name: .long, help: "A model file: collapsed.json, or a .safetensors written by lacoot.") var model: String?
    @Flag(name: .long, help: "With --run-dir: the trained (full) model even when the folder holds a collapsed one.")
    var full = false
    @Option(name: .long, help: "The output format (only onnx).") var format = "onnx"
    @Option(name: .long, help: "The ONNX opset (13–21; LayerNormalization of the transformers needs 17).") var opset = 17
    @Option(name: .long, help: "The batch size: dynamic, or a fixed number.") var batch: BatchSize = .dynamic
    @Option(name: .long, help: "fp32, or fp16 (weights and computation in float16; the graph still takes and returns float32).")
    var precision = "fp32"
    @Option(name: [.short, .customLong("output")], help: "The ONNX file to write.") var output: String
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard (runDirectory == nil) != (model == nil) else { throw ValidationError("give either --run-dir or --model") }
        guard !full || runDirectory != nil else { throw ValidationError("--full goes with --run-dir") }
        guard format == "onnx" else { throw ValidationError("--format \(format): only onnx is supported") }
        guard ONNXExportOptions.supportedOpsets.contains(opset) else {
            let range = ONNXExportOptions.supportedOpsets
            throw ValidationError("--opset \(opset): choose one of \(range.lowerBound)–\(range.upperBound)")
        }
        guard ONNXExportOptions.Precision(rawValue: precision) != nil else {
            throw ValidationError("--precision \(precision): choose fp32 or fp16")
        }
    }

    struct Summary: Encodable {
        let output: String
        let bytes: Int
        let nodes: Int
        let initializers: Int
        let operators: [String: Int]
        let macs: Int
        let removedBlocks: [String]
        let opset: Int
        let batch: String
        let precision: String
    }

    func run() throws {
        try runtime.apply()
        try AtomicFile.checkWritable(URL(fileURLWithPath: output))
        let source = try runDirectory.map { try ModelSource.open(runDirectory: $0, collapsed: !full, log: runtime.log) }
            ?? ModelSource.open(modelFile: model ?? "", log: runtime.log)
        let network = source.model
        let removed = network.collapsibleBlockNames.filter { network.collapsedBlocks.contains($0) }
        var options = ONNXExportOptions(opset: opset, precision: ONNXExportOptions.Precision(rawValue: precision) ?? .fp32)
        if case .fixed(let n) = batch { options.batch = .fixed(n) }
        let macs = try CostModel.analyze(network, input: source.inputShape).macs
        options.metadata = ONNXMetadata.properties(
            architecture: network.architecture, removedBlocks: removed, classNames: source.classNames,
            mean: source.normalization.mean, std: source.normalization.std, inputShape: source.inputShape, macs: macs,
            options: options)
        let onnx = try ONNXExporter.export(network, sampleShape: source.inputShape, options: options)
        try onnx.write(to: URL(fileURLWithPath: output))
        let batchText: String
        if case .fixed(let n) = batch { batchText = String(n) } else { batchText = "dynamic" }
        let batchDimension = batchText == "dynamic" ? "batch" : batchText
        let summary = Summary(output: output, bytes: onnx.data.count, nodes: onnx.nodeCount, initializers: onnx.initializerCount,
                              operators: onnx.operators, macs: onnx.macs, removedBlocks: removed, opset: opset,
                              batch: batchText, precision: precision)
        if runtime.json { return try printJSON(summary) }
        let size = String(format: "%.2f MB", Double(onnx.data.count) / 1e6)
        print("wrote \(output): \(network.architecture.label), \(onnx.nodeCount) nodes, \(size), "
              + String(format: "%.2f M MACs", Double(onnx.macs) / 1e6) + ", opset \(opset), batch \(batchText), \(precision)")
        print("removed blocks: " + (removed.isEmpty ? "none" : removed.joined(separator: ", ")))
        print("input \(options.inputName) [\(batchDimension), \(source.inputShape.map(String.init).joined(separator: ", "))], "
              + "output \(options.outputName) [\(batchDimension), \(network.architecture.classCount)]; "
              + "normalization and class names in metadata_props")
    }
}
