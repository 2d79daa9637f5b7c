import Foundation
import LaCoOT
import Models
import NN
import Torch

/// Side by side with the authors' method on the same PyTorch version as our libtorch
/// (`.venv-torch`, installed by scripts/setup): the LaCoOT training step (λ = 5, four
/// `layerX.1` blocks, POT's max-sliced distance on the PyTorch side) at widths 64 and 16, fp32
/// and bf16, interleaved; our λ = 5 / λ = 0 overhead; peak memory; the distance on the same
/// features and directions; eval-mode latency, full and collapsed (`InferenceBench`).
///
/// "authors" = their step as they ship it (NCHW, fp32); "best" = the same PyTorch step in its
/// faster layout, and for bf16 under `torch.autocast("cpu", dtype=torch.bfloat16)`. Ours runs
/// `Trainer.step` in its default layout (channels-last).
enum ReferenceBench {
    static let removed = ["layer1.1", "layer2.1", "layer3.1", "layer4.1"]
    static let batch = 128

    /// One timed configuration of one side.
    struct Case {
        let key: String
        let label: String
        let width: Int
        let run: (_ reps: Int, _ warmup: Int) throws -> [Double]
    }

    static func cases(width: Int, worker: PythonWorker, bf16: Bool) -> [Case] {
        func ours(_ key: String, _ label: String, lambda: Double, cl: Bool, precision: Precision) -> Case {
            Case(key: "swift-\(key)-w\(width)", label: label, width: width) { reps, warmup in
                try ResNetTrainStep(width: width, batch: batch, channelsLast: cl, lambda: lambda, precision: precision)
                    .time(reps: reps, warmup: warmup)
            }
        }
        func theirs(_ key: String, _ label: String, cl: Bool, precision: Precision) -> Case {
            Case(key: "torch-\(key)-w\(width)", label: label, width: width) { reps, warmup in
                try worker.seconds(["cmd": "train_step", "width": width, "batch": batch, "lambda": 5, "channels_last": cl,
                                    "precision": precision.rawValue, "reps": reps, "warmup": warmup])
            }
        }
        var list = [
            ours("fp32-cl", "lacoot fp32, channels-last (default)", lambda: 5, cl: true, precision: .fp32),
            ours("fp32-nchw", "lacoot fp32, NCHW", lambda: 5, cl: false, precision: .fp32),
            ours("lam0-cl", "lacoot fp32, channels-last, λ = 0", lambda: 0, cl: true, precision: .fp32),
            theirs("fp32-nchw", "authors (PyTorch + POT), fp32 NCHW", cl: false, precision: .fp32),
            theirs("fp32-cl", "PyTorch + POT, fp32 channels-last", cl: true, precision: .fp32),
        ]
        if bf16 {
            list += [
                ours("bf16-cl", "lacoot bf16, channels-last", lambda: 5, cl: true, precision: .bf16),
                theirs("bf16-nchw", "PyTorch + POT, bf16 autocast NCHW", cl: false, precision: .bf16),
                theirs("bf16-cl", "PyTorch + POT, bf16 autocast channels-last", cl: true, precision: .bf16),
            ]
        }
        return list
    }

    /// The training-step rates of every case (images/s by key) and their table labels.
    struct StepRates {
        var rate: [String: Double] = [:]
        var labels: [(key: String, label: String, width: Int)] = []
        func r(_ key: String) -> Double { rate[key] ?? .nan }
        func bestTorch(_ precision: String, _ width: Int) -> Double {
            Swift.max(r("torch-\(precision)-nchw-w\(width)"), r("torch-\(precision)-cl-w\(width)"))
        }

        /// The issue's ratio keys, in order.
        var keys: [(String, Double)] {
            var keys: [(String, Double)] = []
            for width in [64, 16] {
                keys.append(("w\(width)_fp32_vs_authors", r("swift-fp32-cl-w\(width)") / r("torch-fp32-nchw-w\(width)")))
                keys.append(("w\(width)_fp32_vs_best", r("swift-fp32-cl-w\(width)") / bestTorch("fp32", width)))
            }
            keys.append(("w64_bf16_vs_authors", r("swift-bf16-cl-w64") / r("torch-fp32-nchw-w64")))
            keys.append(("w64_bf16_vs_best_bf16", r("swift-bf16-cl-w64") / bestTorch("bf16", 64)))
            // overhead = our λ=5 step time ÷ our λ=0 step time = rate(λ=0) ÷ rate(λ=5)
            keys.append(("overhead_w16", r("swift-lam0-cl-w16") / r("swift-fp32-cl-w16")))
            keys.append(("overhead_w64", r("swift-lam0-cl-w64") / r("swift-fp32-cl-w64")))
            return keys
        }
    }

    /// Each width's cases interleaved on their own.
    static func stepRates(worker: PythonWorker, rounds: Int) throws -> StepRates {
        var out = StepRates()
        for width in [64, 16] {
            let list = cases(width: width, worker: worker, bf16: width == 64)
            let perRound = width == 64 ? 2 : 5
            print("width \(width): \(list.count) sides × \(rounds) rounds × \(perRound) steps …")
            let samples = try interleaved(rounds: rounds, perRound: perRound, warmup: 1,
                                          sides: list.map { Side(name: $0.key, run: $0.run) })
            for c in list {
                out.rate[c.key] = Double(batch) / median(samples[c.key] ?? [])
                out.labels.append((c.key, c.label, width))
            }
        }
        return out
    }

    /// Starts the PyTorch worker and checks it has POT; notes a thread or version mismatch.
    static func startWorker(_ options: BenchOptions, report: inout Report) throws -> (PythonWorker, String) {
        let worker = try PythonWorker(python: Repo.python, threads: options.threads)
        let info = try worker.info()
        let torchVersion = info["torch"] as? String ?? "?"
        guard info["pot"] != nil, !(info["pot"] is NSNull) else {
            worker.close()
            throw BenchError("\(Repo.python.path) has no POT; run scripts/setup")
        }
        if (info["threads"] as? NSNumber)?.intValue != options.threads {
            report.notes.append("PyTorch runs \(info["threads"] ?? "?") threads, not \(options.threads)")
        }
        if !torchVersion.hasPrefix(Runtime.version) {
            report.notes.append("PyTorch \(torchVersion) is not the version of our libtorch (\(Runtime.version))")
        }
        print("PyTorch side: \(torchVersion) (\(Repo.python.path)); native bf16 on this CPU: \(Precision.cpuHasNativeBF16 ? "yes" : "no")")
        return (worker, torchVersion)
    }

    static func run(_ options: BenchOptions) throws {
        var report = Report(name: "reference", options: options)
        try Runtime.setThreadCount(options.threads)
        print("reference: libtorch \(Runtime.version) from Swift (\(Runtime.threadCount) threads); load \(loadAverage())")
        let (worker, torchVersion) = try startWorker(options, report: &report)
        defer { worker.close() }
        print("MSW parity …")
        let parity = try mswParity(worker: worker)
        let rounds = options.rounds ?? (options.quick ? 2 : 6)
        let steps = try stepRates(worker: worker, rounds: rounds)
        print("collapsed-model latency …")
        let latency = try InferenceBench.latencies(worker: worker, rounds: rounds)
        let memory = (swift: peakRSSMegabytes(), torch: try worker.peakRSSMegabytes())
        let full = try ResNet(.resNet18, classCount: 10, inputChannels: 3, width: 64)
        let fullMACs = Double(try full.cost().macs)
        print("the machine's GEMM and convolution rates …")
        let rates = try MachineRates.measure()
        // useful work of one training step: forward + backward ≈ 3 × the forward's MACs, 2 FLOP each
        let bf16StepGFLOPs = 6 * fullMACs * steps.r("swift-bf16-cl-w64") / 1e9
        let fp32StepGFLOPs = 6 * fullMACs * steps.r("swift-fp32-cl-w64") / 1e9
        report.add("The machine's rates in this run (\(cpuName()); bf16 \(Precision.cpuHasNativeBF16 ? "native" : "emulated, no avx512_bf16/amx"))",
                   rates.table(fp32Step: fp32StepGFLOPs, bf16Step: bf16StepGFLOPs))
        try full.collapse(removed)
        let macsRatio = fullMACs / Double(try full.cost().macs)

        addTables(to: &report, steps: steps, latency: latency, memory: memory, parity: parity, macsRatio: macsRatio,
                  torchVersion: torchVersion, rounds: rounds)
        let speedup1 = median(latency["swift-b1"] ?? []) / median(latency["swift-b1-cut"] ?? [])
        let speedup128 = median(latency["swift-b128"] ?? []) / median(latency["swift-b128-cut"] ?? [])
        try report.finish(json: [("bench", .string("reference")), ("torch", .string(torchVersion))]
            + steps.keys.map { ($0.0, .number($0.1, digits: 3)) }
            + [
                ("peak_rss_ratio", .number(memory.swift / memory.torch, digits: 3)),
                ("msw_max_rel_err", .scientific(parity.maxRelErr, digits: 3)),
                ("collapsed_speedup_b1", .number(speedup1, digits: 3)),
                ("collapsed_speedup_b128", .number(speedup128, digits: 3)),
                ("macs_ratio", .number(macsRatio, digits: 3)),
            ] + InferenceBench.keys(latency).map { ($0.0, .number($0.1, digits: 3)) }
            // emulated bf16 (no avx512_bf16/amx) has no meaningful GEMM rate to take a share of
            + [("bf16_gemm_share", Precision.cpuHasNativeBF16 ? .number(bf16StepGFLOPs / rates.bf16GEMM, digits: 3) : .null),
               ("fp32_gemm_share", .number(fp32StepGFLOPs / rates.fp32GEMM, digits: 3)),
               ("native_bf16", .string(Precision.cpuHasNativeBF16 ? "yes" : "no")), ("cpu", .string(cpuName()))])
    }

    /// The report's tables and notes.
    static func addTables(to report: inout Report, steps: StepRates, latency: [String: [Double]],
                          memory: (swift: Double, torch: Double), parity: (rows: [ParityRow], maxRelErr: Double),
                          macsRatio: Double, torchVersion: String, rounds: Int) {
        var t = Table(["LaCoOT step λ = 5, ResNet-18 CIFAR, batch 128", "width", "images/s", "lacoot fp32 (default) / this"])
        for (key, label, width) in steps.labels {
            t.add([label, String(width), fmt(steps.r(key), 1), fmt(steps.r("swift-fp32-cl-w\(width)") / steps.r(key), 3)])
        }
        report.add("LaCoOT training step (CE + 5 · mean MSW over layer1.1…layer4.1, K = 50, p = 2; SGD 0.1/0.9/1e-4), libtorch and PyTorch \(torchVersion), \(Runtime.threadCount) threads, medians", t)
        var k = Table(["figure", "value", "target"])
        let targets = ["w64_fp32_vs_authors": "≥ 1.25", "w16_fp32_vs_authors": "≥ 1.25", "w64_fp32_vs_best": "≥ 1.05",
                       "w16_fp32_vs_best": "≥ 1.10", "w64_bf16_vs_authors": "≥ 1.8", "w64_bf16_vs_best_bf16": "≥ 1.05",
                       "overhead_w16": "≤ 1.05", "overhead_w64": "≤ 1.05"]
        for (name, value) in steps.keys { k.add([name, fmt(value, 3), targets[name] ?? ""]) }
        report.add("Ratios (ours ÷ theirs in images/s; overhead = our λ=5 step time ÷ our λ=0 step time)", k)

        report.add("Inference (eval, no grad; lacoot: the inference copy, BatchNorm folded), collapsed = layerX.1 → identity, channels-last: MACs ratio \(fmt(macsRatio, 3))", InferenceBench.table(latency))

        var mem = Table(["peak resident memory over the run", "MB"])
        mem.add(["lacoot (LacootBench)", fmt(memory.swift, 0)])
        mem.add(["PyTorch \(torchVersion) worker", fmt(memory.torch, 0)])
        report.add("Peak RSS (each side held one model at a time)", mem)

        var p = Table(["block", "N", "d", "lacoot (float64)", "POT", "PyTorch msw_reference", "rel. error vs POT"])
        for row in parity.rows {
            p.add([row.block, String(row.n), String(row.d), String(format: "%.10g", row.swift), String(format: "%.10g", row.pot),
                   String(format: "%.10g", row.torch), String(format: "%.2e", row.relErr)])
        }
        report.add("Max-sliced Wasserstein on the same features (ResNet-18 width 16, batch 32, train mode) and the same 50 directions", p)

        if !Precision.cpuHasNativeBF16 {
            report.notes.append("this CPU has no native bfloat16 (no avx512_bf16/amx_bf16): bf16 is emulated by oneDNN on both sides, slower than fp32")
        }
        report.notes.append("\(rounds) interleaved rounds per width, side order rotated; each block builds a fresh model (and, in PyTorch, fresh POT directions per step) and runs a warm-up step first")
        report.meaning = [
            "ratios = lacoot images/s ÷ PyTorch images/s on the same PyTorch version; authors = their step as shipped (NCHW fp32), best = the faster layout (bf16: autocast). Targets: *_vs_authors ≥ 1.25 (fp32), ≥ 1.8 (bf16); w64_fp32_vs_best ≥ 1.05, w16_fp32_vs_best ≥ 1.10, w64_bf16_vs_best_bf16 ≥ 1.05; overhead_w16 and overhead_w64 ≤ 1.05; inference_b128_vs_pytorch ≥ 1.0 and inference_b1_vs_pytorch ≥ 1.1 (PyTorch's latency ÷ ours, the worse of full and collapsed); bf16_gemm_share ≥ 0.5 where bf16 is native (the bf16 step's useful FLOP/s, 6 × forward MACs per image, over the machine's bf16 GEMM rate measured in the same run); peak_rss_ratio ≤ 1; msw_max_rel_err ≤ 1e-5; collapsed speedups ≥ 0.9 × macs_ratio.",
        ]
    }

    /// "1.23 ms [1.20–1.31]" from seconds.
    static func spread(_ seconds: [Double]) -> String {
        guard let s = Evaluation.LatencyStats(milliseconds: seconds.map { $0 * 1e3 }) else { return "n/a" }
        return "\(fmt(s.medianMs, 2)) ms [\(fmt(s.p10Ms, 2))–\(fmt(s.p90Ms, 2))]"
    }

    struct ParityRow {
        let block: String
        let n: Int, d: Int
        let swift: Double, pot: Double, torch: Double
        var relErr: Double { Swift.abs(swift - pot) / Swift.max(Swift.abs(pot), 1e-300) }
    }

    /// Block features of a width-16 ResNet-18 (train mode, batch 32), 50 directions per block;
    /// Swift's distance against POT's (and the PyTorch reference's) on exactly those numbers.
    static func mswParity(worker: PythonWorker) throws -> (rows: [ParityRow], maxRelErr: Double) {
        let model = try ResNet(.resNet18, classCount: 10, inputChannels: 3, width: 16, generator: Generator(seed: 0))
        model.train()
        let g = try Generator(seed: 5)
        let x = try Tensor.randn([32, 3, 32, 32], generator: g)
        var events: [BlockEvent] = []
        _ = try withNoGrad { try model.forward(x) { events.append($0) } }
        let msw = SlicedWasserstein(mode: .reference, projectionCount: 50)
        var rows: [ParityRow] = []
        for e in events {
            let n = e.input.shape[0]
            let fx = try e.input.reshape([n, -1]).to(.float64), fy = try e.output.reshape([n, -1]).to(.float64)
            let d = fx.shape[1]
            let theta = try SlicedWasserstein.randomDirections(dimension: d, count: 50, dtype: .float64, generator: g)
            let swiftValue = try msw(fx, fy, directions: theta).distance.item()
            func nested(_ t: Tensor, _ cols: Int) throws -> [[Double]] {
                let flat = try t.contiguous().doubles()
                return stride(from: 0, to: flat.count, by: cols).map { Array(flat[$0..<($0 + cols)]) }
            }
            let reply = try worker.request(["cmd": "msw", "X": try nested(fx, d), "Y": try nested(fy, d),
                                            "theta": try nested(theta, 50), "p": 2])
            guard let pot = (reply["pot"] as? NSNumber)?.doubleValue, let torch = (reply["torch"] as? NSNumber)?.doubleValue else {
                throw BenchError("the PyTorch worker's msw reply has no values: \(reply)")
            }
            rows.append(ParityRow(block: e.name, n: n, d: d, swift: swiftValue, pot: pot, torch: torch))
        }
        return (rows, rows.map(\.relErr).max() ?? .nan)
    }
}
