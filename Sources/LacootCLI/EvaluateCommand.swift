import ArgumentParser
import Foundation
import LaCoOT
import LacootWorkflow
import Models

/// `lacoot evaluate`: accuracy, size, MACs and latency of a trained or collapsed model.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Test accuracy, parameters, MACs and latency (median, batch 1 and 128) of a run or a model file.",
        discussion: """
        A run folder made by `lacoot train` is evaluated on its own test set. Weights imported into a folder by `lacoot import`, and a model file given alone (--model without --run-dir), are evaluated on the data the data flags name, prepared for the model's input: its channels, image size and normalization.

        Examples:
          lacoot evaluate --run-dir runs/r18-l1
          lacoot evaluate --model runs/r18-l1/collapsed.json --run-dir runs/r18-l1
          lacoot evaluate --model runs/r18-l1/collapsed.json --dataset fashion-mnist
          lacoot evaluate --run-dir runs/ft --dataset cifar10 --data-dir cifar
        """
    )

    @Option(name: .customLong("run-dir"), help: "A run folder (its checkpoint, unless --model is given; its data either way), or a folder made by `lacoot import`.")
    var runDirectory: String?

    @Option(name: .long, help: "A model file: collapsed.json, or a .safetensors written by lacoot. Alone, it is evaluated on the data flags' data.")
    var model: String?

    @Option(name: .long, help: "Timed latency runs (at least; more until 0.5 s).") var repeats = 20

    @OptionGroup(title: "Data (for a model file alone or imported weights; a trained run uses its own)") var data: DataOptions
    @OptionGroup(title: "Execution") var execution: ExecutionOptions
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        try Bounds.check(repeats, "repeats", in: 1...100_000)
        guard runDirectory != nil || model != nil else { throw ValidationError("give --run-dir, --model, or both") }
    }

    /// The network to measure and the data to measure it on.
    private func networkAndData() throws -> (network: any CollapsibleModel, data: PreparedData) {
        guard let runDirectory else {
            // a model file alone: the data flags, prepared for its input
            let path = model ?? ""
            let (network, manifest) = try ModelFile.load(from: URL(fileURLWithPath: path))
            return (network, try data.prepare(for: manifest, source: path))
        }
        let run = try data.openRun(runDirectory)
        guard let model else { return (run.model, run.data) }
        let loaded = try CollapsedModel.load(from: URL(fileURLWithPath: model))
        let differences = loaded.manifest.architecture.differences(from: run.config.model)
        guard differences.isEmpty else {
            throw UsageError.modelMismatch(modelFile: model, runDirectory: runDirectory, differences: differences)
        }
        return (loaded.model, run.data)
    }

    func run() throws {
        try runtime.apply()
        let device = try execution.prepare()
        let (network, data) = try networkAndData()
        try network.to(device)
        try network.setMemoryFormat(execution.layout == .channelsLast ? .channelsLast : .contiguous)
        let collapser = Collapser(model: network, normalization: data.normalization)
        collapser.latencyRepeats = repeats
        collapser.precision = execution.precision
        let m = try collapser.measure(on: data.test)
        if runtime.json {
            try printJSON(m)
        } else {
            print(String(format: "test accuracy: %.2f %% on %d images", m.accuracy, data.test.count))
            print("collapsed blocks: " + (network.collapsedBlocks.isEmpty ? "none" : network.collapsedBlocks.sorted().joined(separator: ", ")))
            print("parameters: \(m.params), MACs: \(mega(m.macs))")
            print(String(format: "latency (median [p10–p90]): %.2f ms [%.2f–%.2f] (batch 1), %.1f ms [%.1f–%.1f] (batch 128); %@, %@, %@",
                         m.latencyB1Ms ?? .nan, m.latencyB1SpreadMs?.first ?? .nan, m.latencyB1SpreadMs?.last ?? .nan,
                         m.latencyB128Ms ?? .nan, m.latencyB128SpreadMs?.first ?? .nan, m.latencyB128SpreadMs?.last ?? .nan,
                         execution.precision.rawValue, execution.layout.rawValue, device.description))
        }
    }
}
