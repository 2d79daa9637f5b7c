import ArgumentParser
import Foundation
import LaCoOT
import LacootWorkflow
import Models

/// `lacoot evaluate`: accuracy, size, MACs and latency of a trained or collapsed model.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Test accuracy, parameters, MACs and latency (median, batch 1 and 128) of a run or a collapsed model.",
        discussion: """
        Example:
          lacoot evaluate --run-dir runs/r18-l1
          lacoot evaluate --model runs/r18-l1/collapsed.json --run-dir runs/r18-l1
        """
    )

    @Option(name: .customLong("run-dir"), help: "A run folder (its checkpoint, unless --model is given; its data either way).")
    var runDirectory: String

    @Option(name: .long, help: "A collapsed model's manifest (collapsed.json).")
    var model: String?

    @Option(name: .long, help: "Timed latency runs (at least; more until 0.5 s).") var repeats = 20

    @OptionGroup(title: "Execution") var execution: ExecutionOptions
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        try Bounds.check(repeats, "repeats", in: 1...100_000)
    }

    func run() throws {
        try runtime.apply()
        let device = try execution.prepare()
        let run = try TrainedRun.open(RunFolder(runDirectory))
        var network: any CollapsibleModel = run.model
        if let model {
            let loaded = try CollapsedModel.load(from: URL(fileURLWithPath: model))
            let differences = loaded.manifest.architecture.differences(from: run.config.model)
            guard differences.isEmpty else {
                throw UsageError.modelMismatch(modelFile: model, runDirectory: runDirectory, differences: differences)
            }
            network = loaded.model
        }
        try network.to(device)
        try network.setMemoryFormat(execution.layout == .channelsLast ? .channelsLast : .contiguous)
        let collapser = Collapser(model: network, normalization: run.data.normalization)
        collapser.latencyRepeats = repeats
        collapser.precision = execution.precision
        let m = try collapser.measure(on: run.data.test)
        if runtime.json {
            try printJSON(m)
        } else {
            print(String(format: "test accuracy: %.2f %% on %d images", m.accuracy, run.data.test.count))
            print("collapsed blocks: " + (network.collapsedBlocks.isEmpty ? "none" : network.collapsedBlocks.sorted().joined(separator: ", ")))
            print("parameters: \(m.params), MACs: \(mega(m.macs))")
            print(String(format: "latency (median [p10–p90]): %.2f ms [%.2f–%.2f] (batch 1), %.1f ms [%.1f–%.1f] (batch 128); %@, %@, %@",
                         m.latencyB1Ms ?? .nan, m.latencyB1SpreadMs?.first ?? .nan, m.latencyB1SpreadMs?.last ?? .nan,
                         m.latencyB128Ms ?? .nan, m.latencyB128SpreadMs?.first ?? .nan, m.latencyB128SpreadMs?.last ?? .nan,
                         execution.precision.rawValue, execution.layout.rawValue, device.description))
        }
    }
}
