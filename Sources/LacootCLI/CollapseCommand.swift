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
        var request = TrainedRun.CollapseRequest(
            policy: remove.map { .remove($0) } ?? maxDrop.map { .maxAccuracyDrop($0) } ?? .blocks(blocks))
        request.order = order
        request.distance = distance.value
        request.tap = distance.tap
        request.seed = seed
        request.measureLatency = !noLatency
        request.showProgress = runtime.showProgress
        let collapse = try run.collapse(request) { runtime.log($0) }
        let (outcome, manifestURL) = (collapse.outcome, collapse.collapsedModel)
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
