import Foundation
import Models
import Torch

/// Issue 25: eval-mode inference of the reference ResNet-18 (CIFAR stem, width 64), full and
/// with the four `layerX.1` blocks removed, at batch 1 and 128, lacoot against PyTorch (same
/// libtorch version, channels-last on both sides, `torch.no_grad`), interleaved.
enum InferenceBench {
    static let removed = ["layer1.1", "layer2.1", "layer3.1", "layer4.1"]

    /// Seconds per forward by key: "swift-b1", "swift-b1-cut", "torch-b128", …
    static func latencies(worker: PythonWorker, rounds: Int) throws -> [String: [Double]] {
        var out: [String: [Double]] = [:]
        for (b, reps, warmup) in [(1, 20, 5), (128, 3, 1)] {
            var sides: [Side] = []
            for cut in [false, true] {
                let suffix = "-b\(b)" + (cut ? "-cut" : "")
                sides.append(Side(name: "swift" + suffix) { r, w in
                    try ResNetInference(batch: b, removed: cut ? removed : [], channelsLast: true).time(reps: r, warmup: w)
                })
                sides.append(Side(name: "torch" + suffix) { r, w in
                    try worker.seconds(["cmd": "latency", "width": 64, "batch": b, "removed": cut ? removed : [],
                                        "channels_last": true, "reps": r, "warmup": w])
                })
            }
            out.merge(try interleaved(rounds: rounds, perRound: reps, warmup: warmup, sides: sides)) { x, _ in x }
        }
        return out
    }

    /// PyTorch's median latency over ours, per batch size: the worse of full and collapsed.
    static func keys(_ latency: [String: [Double]]) -> [(String, Double)] {
        [1, 128].map { b in
            let ratios = ["", "-cut"].map { cut in
                median(latency["torch-b\(b)\(cut)"] ?? []) / median(latency["swift-b\(b)\(cut)"] ?? [])
            }
            return ("inference_b\(b)_vs_pytorch", ratios.min() ?? .nan)
        }
    }

    static func table(_ latency: [String: [Double]]) -> Table {
        var l = Table(["inference latency (eval, no grad), median [p10–p90]", "full", "4 blocks removed", "speedup"])
        for (label, prefix) in [("lacoot b1", "swift-b1"), ("PyTorch b1", "torch-b1"), ("lacoot b128", "swift-b128"), ("PyTorch b128", "torch-b128")] {
            let f = latency[prefix] ?? [], c = latency[prefix + "-cut"] ?? []
            l.add([label, ReferenceBench.spread(f), ReferenceBench.spread(c), fmt(median(f) / median(c), 2)])
        }
        for b in [1, 128] {
            let f = median(latency["torch-b\(b)"] ?? []) / median(latency["swift-b\(b)"] ?? [])
            let c = median(latency["torch-b\(b)-cut"] ?? []) / median(latency["swift-b\(b)-cut"] ?? [])
            l.add(["PyTorch ÷ lacoot, b\(b)", fmt(f, 3), fmt(c, 3), ""])
        }
        return l
    }

    static func run(_ options: BenchOptions) throws {
        var report = Report(name: "inference", options: options)
        try Runtime.setThreadCount(options.threads)
        let worker = try PythonWorker(python: Repo.python, threads: options.threads)
        defer { worker.close() }
        print("inference: ResNet-18 width 64, \(options.threads) threads; \(cpuName()); load \(loadAverage())")
        let rounds = options.rounds ?? (options.quick ? 2 : 5)
        let latency = try latencies(worker: worker, rounds: rounds)
        report.add("Eval-mode forward, channels-last, \(rounds) interleaved rounds, \(cpuName())", table(latency))
        let keys = keys(latency)
        for (name, value) in keys {
            let target = name.hasSuffix("b1_vs_pytorch") ? 1.1 : 1.0
            report.notes.append("\(name) (worse of full and collapsed): \(fmt(value, 3)), target ≥ \(target) — \(value >= target ? "met" : "missed")")
        }
        try report.finish(json: [("bench", .string("inference"))] + keys.map { ($0.0, .number($0.1, digits: 3)) }
            + [("cpu", .string(cpuName()))])
    }
}

extension InferenceBench: Benchmark {
    static let name = "inference"
    static let summary = "eval-mode ResNet-18 forward, batch 1 and 128, full and collapsed, vs PyTorch"
    static let abstract = "lacoot's eval-mode forward against PyTorch's on the same libtorch, full and collapsed, interleaved."
    static let details = """
        JSON keys: inference_b1_vs_pytorch, inference_b128_vs_pytorch (PyTorch's latency over \
        ours; the worse of the full and the collapsed model), cpu. --rounds counts interleaved \
        rounds (default 5).
        """
}
