import Foundation
import LaCoOT
import Models
import NN
import Torch

/// Issue 6: side by side with the authors' method in PyTorch. The LaCoOT training step
/// (λ = 5, four `layerX.1` blocks, POT's max-sliced distance on the PyTorch side) in Swift and
/// in every PyTorch available, interleaved; peak memory; the distance on the same features and
/// directions; collapsed-model latency; effective FLOP rate against sgemm.
enum ReferenceBench {
    static let removed = ["layer1.1", "layer2.1", "layer3.1", "layer4.1"]

    /// The newer PyTorch's interpreter: `LACOOT_PYTHON_NEW`, else `.venv-new/bin/python`.
    static var newestPython: URL? {
        if let env = ProcessInfo.processInfo.environment["LACOOT_PYTHON_NEW"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        let url = Repo.root.appendingPathComponent(".venv-new/bin/python")
        return FileManager.default.isExecutableFile(atPath: url.path) ? url : nil
    }

    struct Torch {
        let key: String
        let worker: PythonWorker
        let version: String
        let hasPOT: Bool
    }

    static func run(_ options: Options) throws {
        var report = Report(name: "reference", options: options)
        try Runtime.setThreadCount(options.threads)
        let swiftThreads = Runtime.threadCount
        print("reference: libtorch \(Runtime.version) from Swift (\(swiftThreads) threads); load \(loadAverage())")

        // The PyTorch sides: Debian's 1.13 (required) and a newer one when there is one.
        var torches: [Torch] = []
        func start(_ key: String, _ python: URL) throws -> Torch {
            let w = try PythonWorker(python: python, threads: options.threads)
            let info = try w.info()
            let threads = (info["threads"] as? NSNumber)?.intValue ?? -1
            if threads != options.threads {
                report.notes.append("PyTorch (\(python.path)) runs \(threads) threads, not \(options.threads)")
            }
            return Torch(key: key, worker: w, version: info["torch"] as? String ?? "?", hasPOT: !(info["pot"] is NSNull) && info["pot"] != nil)
        }
        let t113 = try start("torch113", Repo.python)
        torches.append(t113)
        guard t113.hasPOT else { throw BenchError("the reference environment has no POT; run scripts/setup-python") }
        if let url = newestPython {
            do {
                let t = try start("newest", url)
                if !t.hasPOT {
                    report.notes.append("PyTorch \(t.version) at \(url.path) has no POT (pip install pot), so it cannot run the LaCoOT step; left out")
                    t.worker.close()
                } else {
                    torches.append(t)
                }
            } catch {
                report.notes.append("the newer PyTorch at \(url.path) did not start: \(error)")
            }
        } else {
            report.notes.append("no newer PyTorch found (.venv-new/bin/python or LACOOT_PYTHON_NEW); the newest PyTorch measured is Debian's \(t113.version)")
        }
        defer { for t in torches { t.worker.close() } }
        print("PyTorch sides: " + torches.map { "\($0.version) (\($0.worker.python.path))" }.joined(separator: ", "))

        // 1. The distance on the same features and directions (float64).
        print("MSW parity …")
        let parity = try mswParity(worker: t113.worker)

        // 2. sgemm rate in this process.
        let gen = try Generator(seed: 0)
        let a = try Tensor.randn([1024, 1024], generator: gen), b = try Tensor.randn([1024, 1024], generator: gen)
        let sgemm = 2 * pow(1024.0, 3) / median(try timeReps(reps: 20, warmup: 3) { _ = try a.matmul(b) }) / 1e9

        // 3. The LaCoOT training step, λ = 5.
        let batch = 128
        let rounds = options.rounds ?? (options.quick ? 2 : 6)
        let perRound = 2
        var sides: [Side] = []
        for cl in [false, true] {
            sides.append(Side(name: "swift" + (cl ? "-cl" : "")) { reps, warmup in
                try LaCoOTTrainStep(batch: batch, channelsLast: cl, lambda: 5).time(reps: reps, warmup: warmup)
            })
            for t in torches {
                sides.append(Side(name: t.key + (cl ? "-cl" : "")) { reps, warmup in
                    try t.worker.seconds(["cmd": "train_step", "width": 64, "batch": batch, "lambda": 5,
                                          "channels_last": cl, "reps": reps, "warmup": warmup])
                })
            }
        }
        print("LaCoOT training steps (\(rounds) rounds × \(perRound) steps, \(sides.count) sides) …")
        let steps = try interleaved(rounds: rounds, perRound: perRound, warmup: 1, sides: sides).mapValues(median)
        func best(_ key: String) -> (rate: Double, layout: String) {
            let nchw = Double(batch) / (steps[key] ?? .nan), cl = Double(batch) / (steps[key + "-cl"] ?? .nan)
            return cl > nchw ? (cl, "channels-last") : (nchw, "NCHW")
        }

        // 4. Latency, full and collapsed, batch 1 and 128.
        print("collapsed-model latency …")
        var latency: [String: Double] = [:]
        for (b, reps) in [(1, 10), (128, 2)] {
            var ls: [Side] = []
            for cut in [false, true] {
                for cl in [false, true] {
                    ls.append(Side(name: "swift\(cl ? "-cl" : "")\(cut ? "-cut" : "")-b\(b)") { r, w in
                        try ResNetInference(batch: b, removed: cut ? removed : [], channelsLast: cl).time(reps: r, warmup: w)
                    })
                }
                for t in torches {
                    ls.append(Side(name: "\(t.key)\(cut ? "-cut" : "")-b\(b)") { r, w in
                        try t.worker.seconds(["cmd": "latency", "width": 64, "batch": b, "removed": cut ? removed : [],
                                              "reps": r, "warmup": w])
                    })
                }
            }
            let out = try interleaved(rounds: rounds, perRound: reps, warmup: b == 1 ? 3 : 1, sides: ls)
            latency.merge(out.mapValues(median)) { x, _ in x }
        }

        // 5. Memory, MACs.
        let swiftRSS = peakRSSMegabytes()
        var torchRSS: [String: Double] = [:]
        for t in torches { torchRSS[t.key] = try t.worker.peakRSSMegabytes() }
        let full = try ResNet(.resNet18, classCount: 10, inputChannels: 3, width: 64)
        let fullMACs = Double(try full.cost().macs)
        try full.collapse(removed)
        let cutMACs = Double(try full.cost().macs)
        let macsRatio = fullMACs / cutMACs

        // Tables.
        let swiftBest = best("swift")
        var t = Table(["LaCoOT step, λ = 5, ResNet-18 CIFAR, batch 128", "NCHW images/s", "channels-last images/s", "best", "Swift best / this"])
        for (key, label) in [("swift", "Swift (libtorch \(Runtime.version))")] + torches.map({ ($0.key, "PyTorch \($0.version) + POT") }) {
            let bb = best(key)
            t.add([label, fmt(Double(batch) / (steps[key] ?? .nan), 1), fmt(Double(batch) / (steps[key + "-cl"] ?? .nan), 1),
                   fmt(bb.rate, 1) + " (\(bb.layout))", fmt(swiftBest.rate / bb.rate, 3)])
        }
        report.add("LaCoOT training step (CE + 5 · mean MSW over layer1.1…layer4.1, K = 50, p = 2; SGD 0.1/0.9/1e-4), \(swiftThreads) threads, medians of \(rounds * perRound) steps per side", t)

        var f = Table(["effective FLOP rate", "GFLOP/s", "% of sgemm"])
        let effective = 6 * fullMACs * swiftBest.rate / 1e9
        f.add(["Swift LaCoOT step: 3 × 2 × \(fmt(fullMACs / 1e6, 2)) M MACs × \(fmt(swiftBest.rate, 1)) images/s", fmt(effective, 1), fmt(100 * effective / sgemm, 0)])
        f.add(["sgemm 1024³ float32 (Swift, same process)", fmt(sgemm, 1), "100"])
        report.add("Training FLOP rate against the machine's sgemm rate", f)

        var l = Table(["inference latency (eval, no grad)", "full b1", "4 blocks removed b1", "speedup b1", "full b128", "4 removed b128", "speedup b128"])
        func latencyRow(_ label: String, _ prefix: String) {
            let f1 = latency["\(prefix)-b1"] ?? .nan, c1 = latency["\(prefix)-cut-b1"] ?? .nan
            let f128 = latency["\(prefix)-b128"] ?? .nan, c128 = latency["\(prefix)-cut-b128"] ?? .nan
            l.add([label, fmt(f1 * 1e3, 2) + " ms", fmt(c1 * 1e3, 2) + " ms", fmt(f1 / c1, 2),
                   fmt(f128 * 1e3, 1) + " ms", fmt(c128 * 1e3, 1) + " ms", fmt(f128 / c128, 2)])
        }
        latencyRow("Swift, NCHW", "swift")
        latencyRow("Swift, channels-last", "swift-cl")
        for t in torches { latencyRow("PyTorch \(t.version), NCHW", t.key) }
        report.add("Collapsed model (layer1.1, layer2.1, layer3.1, layer4.1 → identity): \(fmt(fullMACs / 1e6, 2)) → \(fmt(cutMACs / 1e6, 2)) M MACs, ratio \(fmt(macsRatio, 3))", l)
        func swiftLayout(_ b: Int) -> String {
            (latency["swift-cl-b\(b)"] ?? .infinity) < (latency["swift-b\(b)"] ?? .infinity) ? "swift-cl" : "swift"
        }
        let l1 = swiftLayout(1), l128 = swiftLayout(128)
        let speedup1 = (latency["\(l1)-b1"] ?? .nan) / (latency["\(l1)-cut-b1"] ?? .nan)
        let speedup128 = (latency["\(l128)-b128"] ?? .nan) / (latency["\(l128)-cut-b128"] ?? .nan)

        var mem = Table(["peak resident memory over the run", "MB"])
        mem.add(["Swift (LacootBench)", fmt(swiftRSS, 0)])
        for t in torches { mem.add(["PyTorch \(t.version) worker", fmt(torchRSS[t.key] ?? .nan, 0)]) }
        report.add("Peak RSS (each side held one model at a time)", mem)

        var p = Table(["block", "N", "d", "Swift (float64)", "POT", "PyTorch msw_reference", "rel. error vs POT"])
        for r in parity.rows { p.add([r.block, String(r.n), String(r.d), String(format: "%.10g", r.swift), String(format: "%.10g", r.pot), String(format: "%.10g", r.torch), String(format: "%.2e", r.relErr)]) }
        report.add("Max-sliced Wasserstein on the same features (ResNet-18 width 16, batch 32, train mode) and the same 50 directions", p)

        let newest = torches.last ?? t113
        report.notes.append("speedups from Swift's faster layout per batch size (b1: \(l1 == "swift" ? "NCHW" : "channels-last"), b128: \(l128 == "swift" ? "NCHW" : "channels-last")); ratios compare each side in its faster training layout")
        report.notes.append("\(rounds) interleaved rounds, side order rotated; each block builds a fresh model (and, in PyTorch, fresh POT directions per step) and runs a warm-up step first")
        report.meaning = [
            "ratio_vs_* = Swift LaCoOT-step images/s / PyTorch LaCoOT-step images/s (each side in its faster layout); the PyTorch step is the authors' (forward hooks on the four blocks, POT's max_sliced_wasserstein_distance with 50 fresh directions each). Targets: ≥ 1.2 against both; peak_rss_ratio (Swift / PyTorch 1.13) ≤ 1.0; msw_max_rel_err ≤ 1e-5; collapsed speedups ≥ 0.9 × macs_ratio; effective training FLOP rate ≥ 75 % of sgemm.",
        ]
        try report.finish(json: [
            ("bench", .string("reference")),
            ("ratio_vs_torch113", .number(swiftBest.rate / best("torch113").rate, digits: 3)),
            ("ratio_vs_newest", .number(swiftBest.rate / best(newest.key).rate, digits: 3)),
            ("newest_torch", .string(newest.version)),
            ("peak_rss_ratio", .number(swiftRSS / (torchRSS["torch113"] ?? .nan), digits: 3)),
            ("msw_max_rel_err", .scientific(parity.maxRelErr, digits: 3)),
            ("collapsed_speedup_b1", .number(speedup1, digits: 3)),
            ("collapsed_speedup_b128", .number(speedup128, digits: 3)),
            ("macs_ratio", .number(macsRatio, digits: 3)),
        ])
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
