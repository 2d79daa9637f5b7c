import ArgumentParser
import Foundation
import Torch

/// The options every benchmark takes (`scripts/bench NAME [options]` passes them through).
///
/// ```sh
/// LacootBench engine --threads 2 --rounds 6 --quick --markdown /tmp/engine.md
/// ```
struct BenchOptions: ParsableArguments {
    @Option(name: .customLong("threads"),
            help: ArgumentHelp("Intra-op threads for the Swift side and the PyTorch worker alike (default: the number of active cores).",
                               valueName: "N"))
    var requestedThreads: Int?

    @Option(help: ArgumentHelp("Interleaved rounds: each side runs a short block of repetitions per round (default: the benchmark's own, fewer with --quick).",
                               valueName: "R"))
    var rounds: Int?

    @Flag(help: "Fewer rounds, repetitions and configurations: a check that the benchmark runs, not figures to quote.")
    var quick = false

    @Option(name: .customLong("markdown"),
            help: ArgumentHelp("Also write this benchmark's Markdown section (for BENCHMARKS.md) to FILE.", valueName: "FILE"),
            completion: .file())
    var markdownPath: String?

    /// Intra-op threads: `--threads`, else the number of active cores.
    var threads: Int { requestedThreads ?? Runtime.activeCores }

    /// Where to write this benchmark's Markdown section, if anywhere.
    var markdown: URL? { markdownPath.map { URL(fileURLWithPath: $0) } }

    func validate() throws {
        if let requestedThreads, requestedThreads < 1 {
            throw ValidationError("--threads must be at least 1, got \(requestedThreads)")
        }
        if let rounds, rounds < 1 { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
    }
}
