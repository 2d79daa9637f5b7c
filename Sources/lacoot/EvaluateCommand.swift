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

    @Option(name: .long, help: "Latency repetitions.") var repeats = 10

    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try runtime.apply()
        let run = try TrainedRun.open(RunFolder(runDirectory))
        var network: any CollapsibleModel = run.model
        if let model {
            let loaded = try CollapsedModel.load(from: URL(fileURLWithPath: model))
            guard loaded.manifest.architecture == run.config.model else {
                throw UsageError.modelMismatch(modelFile: model, modelLabel: loaded.manifest.architecture.label,
                                               runDirectory: runDirectory, runLabel: run.config.model.label)
            }
            network = loaded.model
        }
        let collapser = Collapser(model: network, normalization: run.data.normalization)
        collapser.latencyRepeats = repeats
        let m = try collapser.measure(on: run.data.test)
        if runtime.json {
            try printJSON(m)
        } else {
            print(String(format: "test accuracy: %.2f %% on %d images", m.accuracy, run.data.test.count))
            print("collapsed blocks: " + (network.collapsedBlocks.isEmpty ? "none" : network.collapsedBlocks.sorted().joined(separator: ", ")))
            print("parameters: \(m.params), MACs: \(mega(m.macs))")
            print(String(format: "latency: %.2f ms (batch 1), %.1f ms (batch 128)", m.latencyB1Ms ?? .nan, m.latencyB128Ms ?? .nan))
        }
    }
}
