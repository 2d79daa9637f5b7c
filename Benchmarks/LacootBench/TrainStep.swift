import Foundation
import NN
import Torch

/// Issue 3: one ResNet-18 training step (CIFAR stem, batch 128, 3×32×32, 10 classes) in Swift
/// and in PyTorch, interleaved; eval-mode latency at batch 1 and 128; peak memory of each side.
enum TrainStepBench {
    // size: one benchmark read top to bottom — its interleaved measurement, then the tables it reports
    static func run(_ options: BenchOptions) throws {
        var report = Report(name: "train-step", options: options)
        try Runtime.setThreadCount(options.threads)
        let swiftThreads = Runtime.threadCount
        let py = try PythonWorker(threads: options.threads)
        defer { py.close() }
        let info = try py.info()
        let pyThreads = (info["threads"] as? NSNumber)?.intValue ?? -1
        let pyTorch = info["torch"] as? String ?? "?"
        print("train-step: libtorch \(Runtime.version) from Swift (\(swiftThreads) threads), PyTorch \(pyTorch) (\(pyThreads) threads); load \(loadAverage())")
        if swiftThreads != options.threads || pyThreads != options.threads {
            report.notes.append("thread counts differ from the \(options.threads) asked: Swift \(swiftThreads), PyTorch \(pyThreads)")
        }
        let batch = 128
        let rounds = options.rounds ?? (options.quick ? 2 : 6)
        let perRound = 2

        // Each block builds its model, optimizer and data afresh on both sides (as the worker
        // does per request), so that each side holds one model at a time: peak memory compares.
        func swiftTrain(_ channelsLast: Bool) -> Side {
            Side(name: channelsLast ? "swift-cl" : "swift") { reps, warmup in
                try ResNetTrainStep(batch: batch, channelsLast: channelsLast).time(reps: reps, warmup: warmup)
            }
        }
        func pythonTrain(_ channelsLast: Bool) -> Side {
            Side(name: channelsLast ? "python-cl" : "python") { reps, warmup in
                try py.seconds(["cmd": "train_step", "width": 64, "batch": batch, "lambda": 0,
                                "channels_last": channelsLast, "reps": reps, "warmup": warmup])
            }
        }
        print("training steps (\(rounds) rounds × \(perRound) steps per side) …")
        let train = try interleaved(rounds: rounds, perRound: perRound, warmup: 1, sides: [
            swiftTrain(false), pythonTrain(false), swiftTrain(true), pythonTrain(true),
        ])
        let rate = train.mapValues { Double(batch) / median($0) }

        // Latency: eval mode, no grad; PyTorch's worker runs NCHW.
        func swiftLatency(_ b: Int, _ channelsLast: Bool) -> Side {
            Side(name: "swift\(channelsLast ? "-cl" : "")-b\(b)") { reps, warmup in
                try ResNetInference(batch: b, channelsLast: channelsLast, prepared: false).time(reps: reps, warmup: warmup)
            }
        }
        func pythonLatency(_ b: Int) -> Side {
            Side(name: "python-b\(b)") { reps, warmup in
                try py.seconds(["cmd": "latency", "width": 64, "batch": b, "removed": [String](),
                                "reps": reps, "warmup": warmup])
            }
        }
        print("inference latency …")
        let lat1 = try interleaved(rounds: rounds, perRound: 10, warmup: 3, sides: [
            swiftLatency(1, false), swiftLatency(1, true), pythonLatency(1),
        ])
        let lat128 = try interleaved(rounds: rounds, perRound: 2, warmup: 1, sides: [
            swiftLatency(128, false), swiftLatency(128, true), pythonLatency(128),
        ])
        let latency = lat1.merging(lat128) { a, _ in a }.mapValues(median)

        let swiftRSS = peakRSSMegabytes()
        let pythonRSS = try py.peakRSSMegabytes()

        // Headline: each side in its faster layout (stated in the table).
        let swiftCL = (rate["swift-cl"] ?? 0) > (rate["swift"] ?? 0)
        let pythonCL = (rate["python-cl"] ?? 0) > (rate["python"] ?? 0)
        let swiftRate = rate[swiftCL ? "swift-cl" : "swift"] ?? .nan
        let pythonRate = rate[pythonCL ? "python-cl" : "python"] ?? .nan
        let swiftLatencyCL = (latency["swift-cl-b128"] ?? .infinity) < (latency["swift-b128"] ?? .infinity)
        let b1 = latency[swiftLatencyCL ? "swift-cl-b1" : "swift-b1"] ?? .nan
        let b128 = latency[swiftLatencyCL ? "swift-cl-b128" : "swift-b128"] ?? .nan

        var t = Table(["training step, ResNet-18 CIFAR, batch 128", "median step", "images/s", "vs PyTorch NCHW"])
        let baseline = rate["python"] ?? .nan
        for (key, label) in [("swift", "Swift, NCHW"), ("swift-cl", "Swift, channels-last"),
                             ("python", "PyTorch \(pyTorch), NCHW"), ("python-cl", "PyTorch \(pyTorch), channels-last")] {
            let s = median(train[key] ?? [])
            t.add([label, fmt(s * 1e3, 0) + " ms", fmt(Double(batch) / s, 1), fmt(Double(batch) / s / baseline, 3)])
        }
        report.add("Training step (forward, cross-entropy, backward, SGD momentum 0.9 wd 1e-4), \(swiftThreads) threads, medians of \(train["swift"]?.count ?? 0) steps per side", t)

        var l = Table(["eval latency, ResNet-18 CIFAR", "batch 1", "batch 128", "batch-128 images/s"])
        for (key, label) in [("swift", "Swift, NCHW"), ("swift-cl", "Swift, channels-last"), ("python", "PyTorch \(pyTorch), NCHW")] {
            let a = latency["\(key)-b1"] ?? .nan, b = latency["\(key)-b128"] ?? .nan
            l.add([label, fmt(a * 1e3, 2) + " ms", fmt(b * 1e3, 1) + " ms", fmt(128 / b, 0)])
        }
        report.add("Inference latency (eval mode, no grad), medians", l)

        var m = Table(["peak resident memory", "MB"])
        m.add(["Swift process (LacootBench)", fmt(swiftRSS, 0)])
        m.add(["PyTorch worker process", fmt(pythonRSS, 0)])
        report.add("Peak RSS over the whole run (each side held one model at a time)", m)

        report.notes.append("JSON: each side in its faster layout — Swift \(swiftCL ? "channels-last" : "NCHW"), PyTorch \(pythonCL ? "channels-last" : "NCHW"); latency from Swift \(swiftLatencyCL ? "channels-last" : "NCHW")")
        report.notes.append("\(rounds) interleaved rounds, side order rotated; each block builds a fresh model and runs 1 warm-up step first")
        report.meaning = [
            "images/s = 128 / median step time. The step is the reference's: zero_grad(set_to_none), forward in training mode, cross-entropy, backward, SGD step, reading the loss. Both sides run the same libtorch kernels; a Swift/PyTorch ratio above 1 comes from what the binding does differently (fused SGD update in one C++ call, layouts), not from other kernels.",
            "Peak RSS is each process's high-water mark over the whole run (VmHWM / ru_maxrss), libtorch's own ~170 MB included.",
        ]
        try report.finish(json: [
            ("bench", .string("train-step")),
            ("images_per_s_swift", .number(swiftRate, digits: 1)),
            ("images_per_s_python", .number(pythonRate, digits: 1)),
            ("ratio", .number(swiftRate / pythonRate, digits: 3)),
            ("peak_rss_mb_swift", .number(swiftRSS, digits: 0)),
            ("peak_rss_mb_python", .number(pythonRSS, digits: 0)),
            ("latency_b1_ms", .number(b1 * 1e3, digits: 2)),
            ("latency_b128_ms", .number(b128 * 1e3, digits: 1)),
        ])
    }
}
