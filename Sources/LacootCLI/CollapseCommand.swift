import ArgumentParser
import Foundation
import LaCoOT
import LacootRecords
import LacootReport
import LacootSupport
import LacootWorkflow
import Models
import Torch

/// `lacoot collapse`: replaces blocks with the identity (no finetuning) and reports.
struct CollapseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collapse",
        abstract: "Collapse blocks of a trained run into the identity, with no finetuning, and report before → after.",
        discussion: """
        Choose exactly one policy: --remove K (the first K blocks of the order), --max-drop X (remove in order while validation accuracy stays within X points; test accuracy reported), or --blocks.

        Writes collapsed.safetensors + collapsed.json (loadable in PyTorch with the listed blocks set to nn.Identity) and report.json / report.md / report.html with the removal curve. A folder made by `lacoot import` is collapsed on the data the data flags name.

        Example:
          lacoot collapse --run-dir runs/r18-l1 --max-drop 1
          lacoot collapse --run-dir runs/r18-l1 --remove 2 --order random
        """
    )

    @Option(name: .customLong("run-dir"), help: "A run folder made by `lacoot train`, or by `lacoot import` (then with the data flags).")
    var runDirectory: String

    @OptionGroup(title: "Data (for weights imported into --run-dir; a trained run uses its own)") var data: DataOptions

    @Option(name: .long, help: "Remove the first K blocks of the removal order.")
    var remove: Int?

    @Option(name: .customLong("max-drop"), help: "Remove while validation accuracy stays within X points of the full model.")
    var maxDrop: Double?

    @Option(name: .long, parsing: .upToNextOption, help: "Remove exactly these blocks (e.g. layer1.1 layer4.1).")
    var blocks: [String] = []

    @Option(name: .long, help: "Removal order: ranked (lowest distance first), random, reverse, deepest-first.")
    var order: RemovalOrder = .ranked

    @OptionGroup(title: "Distance") var distance: DistanceOptions

    @Option(name: .long, help: "Seed of the scoring directions and of the random order.") var seed: UInt64 = 0

    @Flag(name: .customLong("no-latency"), help: "Skip latency measurements.") var noLatency = false

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        let chosen = [remove != nil, maxDrop != nil, !blocks.isEmpty].filter { $0 }.count
        guard chosen == 1 else { throw ValidationError("choose exactly one of --remove, --max-drop, --blocks") }
        try Bounds.check(remove, "remove", in: 0...100_000)
        try Bounds.check(maxDrop, "max-drop", in: 0...100)
    }

    struct Output: Encodable {
        let removed: [String]
        let before: ModelMeasurement
        let after: ModelMeasurement
        let model: String
        let report: String
    }

    func run() throws {
        try runtime.apply()
        let lock = try RunLock.acquire(RunFolder(runDirectory), create: false)
        defer { withExtendedLifetime(lock) {} }
        // a folder it cannot write stops the command now, not after the measurements
        if lock != nil { try AtomicFile.checkWritable(RunFolder(runDirectory).collapsedModelURL) }
        let run = try data.openRun(runDirectory)
        let names = run.model.collapsibleBlockNames
        if let remove, remove > names.count {
            throw UsageError.tooManyBlocks(count: remove, model: run.config.model.label, collapsible: names)
        }
        for b in blocks where !names.contains(b) {
            throw UsageError.unknownBlock(flag: "blocks", block: b, model: run.config.model.label, collapsible: names)
        }
        let policy: CollapsePolicy = remove.map { .remove($0) } ?? maxDrop.map { .maxAccuracyDrop($0) } ?? .blocks(blocks)
        // reuse `lacoot score`'s distances when they match the model's blocks
        let tap = distance.tap ?? run.config.training.tap
        let provenance = try ScoresFile.Provenance(distance: distance.value, tap: tap, seed: seed, run: run)
        let distances = ScoresFile.reusable(in: run.folder, provenance: provenance, blocks: names)
        if distances != nil {
            runtime.log("using the block distances in \(run.folder.scoresURL.path)")
        } else if FileManager.default.fileExists(atPath: run.folder.scoresURL.path) {
            runtime.log("\(run.folder.scoresURL.path) was made otherwise (distance, seed, tap, weights or data): measuring again")
        }
        let full = try Collapser.copy(of: run.model)   // for the report's step-by-step curve
        let collapser = Collapser(model: run.model, normalization: run.data.normalization, distance: distance.value, seed: seed)
        collapser.tap = tap
        collapser.measureLatency = !noLatency
        collapser.showProgress = runtime.showProgress
        let outcome = try collapser.collapse(policy: policy, order: order, validation: run.data.validation,
                                             test: run.data.test, distances: distances)
        let manifestURL = try CollapsedModel.save(run.model, normalization: run.data.normalization,
                                                  classNames: run.data.classNames, inputShape: run.data.train.imageShape,
                                                  to: run.folder.collapsedManifestURL)

        // the report: this collapse as a one-run curve (cumulative steps of the removed blocks)
        let stepper = Collapser(model: full, normalization: run.data.normalization, distance: distance.value, seed: seed)
        stepper.measureLatency = !noLatency
        let curve = try stepper.curve(order: outcome.removed, test: run.data.test)
        let history = (try? run.folder.readMetrics()) ?? []
        let trained = run.imported == nil ? "λ=\(run.config.training.lambda)" : "imported"
        let result = RunResult(label: "\(trained), \(order.rawValue)", lambda: run.config.training.lambda,
                               order: blocks.isEmpty ? order : .given, full: outcome.before, curve: curve,
                               distances: outcome.distances, training: history)
        let report = CollapseReport(title: "Collapse of \(run.folder.url.lastPathComponent)",
                                    createdAt: ISO8601DateFormatter().string(from: Date()),
                                    model: run.config.model.label, dataset: run.data.label,
                                    budget: run.imported.map { "imported from \($0.report.source), not trained here" }
                                        ?? run.config.training.summary,
                                    distanceMode: distance.distance.rawValue, engine: Torch.Runtime.summary,
                                    runs: [result], notes: ["No finetuning, no BatchNorm recalibration."])
        try run.folder.writeReport(report)
        if runtime.json {
            try printJSON(Output(removed: outcome.removed, before: outcome.before, after: outcome.after,
                                 model: manifestURL.path, report: run.folder.reportHTMLURL.path))
        } else {
            print(outcome)
            print("collapsed model: \(manifestURL.path)")
            print("report: \(run.folder.reportHTMLURL.path)")
        }
    }
}
