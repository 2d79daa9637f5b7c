import ArgumentParser
import Foundation
import LaCoOT
import LacootSupport
import LacootWorkflow

/// `lacoot score`: per-block distances of a trained run on its validation split.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Measure each block's input→output distance on the validation split (eval mode, no augmentation).",
        discussion: """
        Averages over validation batches with directions from a fixed seed, writes scores.json to the run folder (collapse reads it) and prints the blocks from most to least removable. A folder made by `lacoot import` is scored on the validation split of the data the data flags name.

        Example:
          lacoot score --run-dir runs/r18-l1 --distance sliced
          lacoot score --run-dir runs/ft --dataset cifar10 --data-dir cifar
        """
    )

    @Option(name: .customLong("run-dir"), help: "A run folder made by `lacoot train`, or by `lacoot import` (then with the data flags).")
    var runDirectory: String

    @OptionGroup(title: "Data (for weights imported into --run-dir; a trained run uses its own)") var data: DataOptions

    @OptionGroup(title: "Distance") var distance: DistanceOptions

    @Option(name: .long, help: "Seed of the scoring directions.") var seed: UInt64 = 0

    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try runtime.apply()
        let lock = try RunLock.acquire(RunFolder(runDirectory), create: false)
        defer { withExtendedLifetime(lock) {} }
        if lock != nil { try AtomicFile.checkWritable(RunFolder(runDirectory).scoresURL) }   // before the measurement
        let run = try data.openRun(runDirectory)
        let scores = try run.score(distance: distance.value, tap: distance.tap, seed: seed, showProgress: runtime.showProgress)
        if runtime.json {
            try printJSON(scores)
        } else {
            print("block distances on \(run.data.validation.count) validation images (\(distance.distance.rawValue)), most removable first:")
            for s in scores.sorted(by: { $0.distance < $1.distance }) {
                print(String(format: "  %-12@ %.5f", s.block, s.distance))
            }
            print("written to \(run.folder.scoresURL.path)")
        }
    }
}
