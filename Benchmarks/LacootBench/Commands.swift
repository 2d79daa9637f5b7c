import ArgumentParser
import Foundation
import Torch

/// `LacootBench`: one subcommand per benchmark, plus `list` and `info` (for scripts/bench).
struct LacootBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "LacootBench",
        abstract: "Benchmarks of lacoot (Swift on libtorch) against PyTorch on the same machine, interleaved in one run.",
        discussion: """
        Each benchmark prints its tables, then its figures as one JSON object on the LAST \
        stdout line (the keys: LacootBench NAME --help). An error prints one line on stderr \
        and exits 1 when the run failed, 2 for a usage error or an unknown benchmark, 3 for a \
        benchmark not available yet.

        Usually run through scripts/bench, which builds in release mode and sets up the \
        PyTorch worker's environment:
          scripts/bench engine --quick
          scripts/bench all     # each in its own process; rewrites BENCHMARKS.md
        """,
        subcommands: benchmarks.map { $0.command } + [ListCommand.self, InfoCommand.self]
    )

    /// The benchmarks, in the order `list` and `scripts/bench all` give them.
    static var benchmarks: [any Benchmark.Type] {
        [EngineBench.self, TrainStepBench.self, LoaderBench.self, RegularizerBench.self, ReferenceBench.self, ProfileBench.self, ScalingBench.self, TransformerBench.self, DistributedBench.self, ExportBench.self, PredictBench.self, InferenceBench.self, CompressBench.self]
    }

    static var benchmarkNames: [String] { benchmarks.map { $0.name } }

    /// Every word that may come first: the subcommands and argument-parser's `help`.
    static var commandNames: Set<String> {
        Set(configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"])
    }

    static let usage = "usage: LacootBench NAME [--threads N] [--rounds R] [--quick] [--markdown FILE]"

    func run() throws {
        throw BenchUsageError("no benchmark named; one of: \(Self.benchmarkNames.joined(separator: ", ")), list. \(Self.usage)")
    }
}

/// A benchmark: its name, the line `list` prints, what it measures (`--help`), and its run,
/// which prints the tables, writes the Markdown section if asked and prints the JSON line last.
protocol Benchmark {
    static var name: String { get }
    /// The line `LacootBench list` prints for it.
    static var summary: String { get }
    /// What it measures: the abstract of its `--help`.
    static var abstract: String { get }
    /// Its JSON keys and what `--rounds` counts: the discussion of its `--help`.
    static var details: String { get }
    /// The issue whose API it waits on while it cannot run yet (it then exits 3); nil: ready.
    static var waitsOn: String? { get }
    static func run(_ options: BenchOptions) throws
}

extension Benchmark {
    static var waitsOn: String? { nil }
    /// Its subcommand.
    static var command: any ParsableCommand.Type { BenchmarkCommand<Self>.self }
}

/// The subcommand that runs benchmark `B` with the shared options.
struct BenchmarkCommand<B: Benchmark>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: B.name, abstract: B.abstract, discussion: B.details)
    }

    @OptionGroup var options: BenchOptions

    func run() throws {
        if let issue = B.waitsOn { throw BenchUnavailable(benchmark: B.name, waitsOn: issue) }
        do {
            try B.run(options)
        } catch {
            throw BenchFailure(benchmark: B.name, underlying: error)
        }
    }
}

extension EngineBench: Benchmark {
    static let name = "engine"
    static let summary = "conv/matmul/op overhead, Swift vs PyTorch (issue 2)"
    static let abstract = "What the binding costs: conv 3×3 64→64 (forward, forward+backward; NCHW and channels-last), matmul 1024³ and one-element adds, Swift vs PyTorch on the same libtorch."
    static let details = """
    JSON keys: bench, conv_fwd_ratio, conv_fwdbwd_ratio, matmul_ratio (PyTorch time ÷ Swift \
    time), op_overhead_us_swift, op_overhead_us_python (µs per op call), gflops_conv_fwdbwd \
    (Swift, NCHW).
    --rounds: interleaved rounds, default 12 (3 with --quick).
    """
}

extension TrainStepBench: Benchmark {
    static let name = "train-step"
    static let summary = "ResNet-18 training step and latency (issue 3)"
    static let abstract = "ResNet-18 training step (CIFAR stem, batch 128) in Swift and in PyTorch, NCHW and channels-last; eval latency at batch 1 and 128; peak memory of each process."
    static let details = """
    JSON keys: bench, images_per_s_swift, images_per_s_python (each side in its faster \
    layout), ratio, peak_rss_mb_swift, peak_rss_mb_python, latency_b1_ms, latency_b128_ms.
    --rounds: interleaved rounds, default 6 (2 with --quick).
    """
}

extension LoaderBench: Benchmark {
    static let name = "loader"
    static let summary = "data loader throughput vs training (issue 4)"
    static let abstract = "Data loader throughput with augmentation against the Swift ResNet-18 training rate of the same run; training fed by the loader; Fashion-MNIST load time."
    static let details = """
    JSON keys: bench, loader_images_per_s (one background thread), train_images_per_s \
    (the faster layout), ratio (loader ÷ training), fashion_mnist_load_s (null when the \
    dataset is not installed).
    --rounds: epochs over the synthetic set, default 3 (2 with --quick, which also uses \
    10,000 images instead of 50,000).
    """
}

extension RegularizerBench: Benchmark {
    static let name = "regularizer"
    static let summary = "LaCoOT regularizer overhead (issue 5)"
    static let abstract = "What the LaCoOT term costs: ResNet-18 training step with λ = 5 (reference and optimized distance) over λ = 0, interleaved; the distances alone on the blocks' shapes."
    static let details = """
    JSON keys: bench, overhead_reference, overhead_optimized (λ = 5 step time ÷ λ = 0 step \
    time, NCHW).
    --rounds: interleaved rounds, default 6 (2 with --quick, which also leaves out \
    channels-last).
    """
}

extension ReferenceBench: Benchmark {
    static let name = "reference"
    static let summary = "LaCoOT step vs the PyTorch reference (issue 6)"
    static let abstract = "lacoot's LaCoOT step against the authors' (PyTorch + POT, same PyTorch version) at widths 64 and 16, fp32 and bf16; λ = 5 / λ = 0 overhead; distance parity with POT; collapsed-model latency; peak memory."
    static let details = """
    JSON keys: bench, torch, w64_fp32_vs_authors, w64_fp32_vs_best, w16_fp32_vs_authors, \
    w16_fp32_vs_best, w64_bf16_vs_authors, w64_bf16_vs_best_bf16 (ours ÷ theirs in \
    images/s), overhead_w16, overhead_w64, peak_rss_ratio, msw_max_rel_err, \
    collapsed_speedup_b1, collapsed_speedup_b128, macs_ratio.
    --rounds: interleaved rounds per width, default 6 (2 with --quick). Needs POT in the \
    PyTorch environment (scripts/setup).
    """
}

extension ProfileBench: Benchmark {
    static let name = "profile"
    static let summary = "LaCoOT step op by op: libtorch's profiler vs torch.profiler (issue 9)"
    static let abstract = "Where each millisecond of the LaCoOT step (λ = 5, batch 128, fp32) goes, op by op: libtorch's profiler around Trainer.step (channels-last) and torch.profiler around the authors' step (NCHW and channels-last), widths 16 and 64, grouped by kind of op."
    static let details = """
    JSON keys: bench, w16_ours_ms, w16_authors_ms, w16_pytorch_cl_ms, w64_ours_ms, \
    w64_authors_ms, w64_pytorch_cl_ms (wall ms per profiled step).
    --rounds: not used (10 profiled steps at width 16, 4 at width 64; 2 with --quick).
    """
}

extension ScalingBench: Benchmark {
    static let name = "scaling"
    static let summary = "step time vs batch/width, MSW time vs N/d (issue 6)"
    static let abstract = "How the cost grows: Swift ResNet-18 training step vs batch size and width, and the max-sliced Wasserstein distance's time vs N and d (K = 50) against a cost-model fit."
    static let details = """
    JSON keys: bench, images_per_s_b32, images_per_s_b64, images_per_s_b128, \
    images_per_s_b256, images_per_s_w16, images_per_s_w32, images_per_s_w64 (null where \
    --quick leaves a configuration out), sgemm_gflops, msw_ns_per_knd, msw_fit_max_rel_err.
    --rounds: timed steps per configuration, default 4 (2 with --quick). Swift only.
    """
}

extension DistributedBench: Benchmark {
    static let name = "distributed"
    static let summary = "data-parallel training: Gloo all-reduce, 2 ranks vs 1, scaling model (issue 15)"
    static let abstract = "Data-parallel training on this host: Gloo all-reduce of ResNet-18's and Swin-T's gradients between 2 ranks on loopback, the ResNet-18 step (width 64, global batch 64) with 1 rank × all threads vs 2 ranks × half each, the all-reduce's share of the step, the global distance's cost; a ring all-reduce model for 8–64 nodes."
    static let details = """
    JSON keys: bench, allreduce_mb_s (ResNet-18's gradients, MB per second of all-reduce), \
    allreduce_mb_s_swin_t, step_ratio_2ranks (2-rank step time ÷ 1-rank step time, same \
    global batch), comm_share (time waiting for the gradient all-reduce after backward ÷ \
    2-rank step time, all-reduce overlapped with backward), comm_share_no_overlap (the same \
    with every bucket reduced after backward), \
    global_distance_cost (λ = 5 step with --global-distance ÷ with the distance per rank).
    --rounds: timed repetitions of each measurement, default 6 (2 with --quick).
    """
}

/// `LacootBench list`: one line per benchmark, `NAME<TAB>ready|waiting on ISSUE<TAB>summary`.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the benchmarks, one a line: NAME, ready or what it waits on, what it measures (tab-separated)."
    )

    func run() {
        for b in LacootBench.benchmarks {
            print("\(b.name)\t\(b.waitsOn.map { "waiting on \($0)" } ?? "ready")\t\(b.summary)")
        }
    }
}

/// `LacootBench info`: the engine line scripts/bench writes into BENCHMARKS.md.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print the engine: libtorch version, threads, oneDNN, OpenMP, BLAS (the line BENCHMARKS.md quotes)."
    )

    func run() { print(Runtime.summary) }
}
