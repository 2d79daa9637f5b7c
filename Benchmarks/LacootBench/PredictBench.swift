import Datasets
import Foundation
import LacootWorkflow
import Models
import Torch

/// Issue 25: `lacoot predict` end to end — PNG decoding, padding to 32×32, normalization,
/// batches of 64, the forward pass, softmax and top-5 — against torchvision's way of doing the
/// same (a Dataset opening each file with PIL, transforms, a DataLoader, PyTorch's model),
/// on the demo's network, interleaved.
enum PredictBench {
    static let normalization = Normalization(mean: [0.2860], std: [0.3530])

    // size: one benchmark read top to bottom — the files, the two sides, then the table
    static func run(_ options: BenchOptions) throws {
        var report = Report(name: "predict", options: options)
        try Runtime.setThreadCount(options.threads)
        let py = try PythonWorker(threads: options.threads)
        defer { py.close() }
        let count = options.quick ? 256 : 1024
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-bench-predict-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let idx = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
        guard FileManager.default.fileExists(atPath: idx) else {
            throw BenchError("no \(idx): install dataset-fashion-mnist (scripts/setup)")
        }
        let files = try py.request(["cmd": "write_pngs", "idx": idx, "count": count, "folder": folder.path])["files"]
            as? [String] ?? []
        print("predict: \(files.count) Fashion-MNIST PNG files, batch 64, ResNet-18 (CIFAR stem, width 64), \(options.threads) threads; \(cpuName()); load \(loadAverage())")
        let model = try Demo.architecture(.resnet18, width: 64, classCount: 10, inputChannels: 1).build(generator: Generator(seed: 0))
        let predictor = try Predictor(model: model, classNames: (0..<10).map(String.init), normalization: normalization,
                                  inputShape: [1, 32, 32])
        let ours = Side(name: "lacoot") { reps, warmup in
            try timeReps(reps: reps, warmup: warmup) { _ = try predictor.predict(files: files, top: 5, batchSize: 64) }
        }
        let theirs = Side(name: "torchvision") { reps, warmup in
            try py.seconds(["cmd": "predict", "files": files, "batch": 64, "width": 64, "side": 32,
                            "mean": normalization.mean.map(Double.init), "std": normalization.std.map(Double.init),
                            "reps": reps, "warmup": warmup])
        }
        let rounds = options.rounds ?? (options.quick ? 2 : 4)
        let measured = try interleaved(rounds: rounds, perRound: 1, warmup: 1, sides: [ours, theirs])
        let rate = measured.mapValues { Double(files.count) / median($0) }
        let ratio = (rate["lacoot"] ?? .nan) / (rate["torchvision"] ?? .nan)
        var t = Table(["predict, \(files.count) PNG files, batch 64", "images/s", "per image"])
        for side in ["lacoot", "torchvision"] {
            let r = rate[side] ?? .nan
            t.add([side == "lacoot" ? "lacoot (Predictor: decode, pad, normalize, forward, top-5)"
                   : "torchvision (PIL, transforms, DataLoader, forward, top-5)", fmt(r, 1), fmt(1e3 / r, 3) + " ms"])
        }
        report.add("End to end, medians of \(rounds) interleaved passes, \(cpuName())", t)
        report.notes.append("target: predict_vs_torchvision ≥ 1.5 — \(fmt(ratio, 3)) (\(ratio >= 1.5 ? "met" : "missed"))")
        try report.finish(json: [
            ("bench", .string("predict")),
            ("predict_images_per_s", .number(rate["lacoot"] ?? .nan, digits: 1)),
            ("predict_vs_torchvision", .number(ratio, digits: 3)),
            ("cpu", .string(cpuName())),
        ])
    }
}

extension PredictBench: Benchmark {
    static let name = "predict"
    static let summary = "lacoot predict end to end (PNG → top-5) vs a torchvision + PIL DataLoader"
    static let abstract = "lacoot predict's pipeline on Fashion-MNIST PNG files against torchvision + PIL doing the same, interleaved."
    static let details = """
        JSON keys: predict_images_per_s (lacoot), predict_vs_torchvision (our images/s over \
        torchvision's), cpu. --rounds counts interleaved passes over the files (default 4).
        """
}
