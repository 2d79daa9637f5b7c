import Datasets
import Foundation
import Torch

/// Issue 4: the loader must never make training wait. Loader throughput with augmentation on
/// CIFAR-shaped data (one background thread) against the Swift ResNet-18 training throughput
/// measured in the same run, and the time to load Fashion-MNIST's training set.
enum LoaderBench {
    // size: one benchmark read top to bottom — its interleaved measurement, then the tables it reports
    static func run(_ options: BenchOptions) throws {
        var report = Report(name: "loader", options: options)
        try Runtime.setThreadCount(options.threads)
        print("loader: libtorch \(Runtime.version), \(Runtime.threadCount) threads; load \(loadAverage())")
        let batch = 128
        let samples = options.quick ? 10_000 : 50_000
        let epochs = options.rounds ?? (options.quick ? 2 : 3)

        let data = try ImageDataset.synthetic(count: samples, channels: 3, height: 32, width: 32, classCount: 10, seed: 0)
        func loader(prefetch: Int) throws -> Loader {
            try Loader(dataset: data, batchSize: batch, shuffle: true, dropLast: true, augmentation: .standard,
                       normalization: .cifar10, seed: 0, prefetch: prefetch)
        }

        // Loader alone: the consumer only takes the batches (tensors built on its thread).
        func loaderRate(prefetch: Int, host: Bool) throws -> (rate: Double, seconds: [Double]) {
            let l = try loader(prefetch: prefetch)
            var seconds: [Double] = []
            for epoch in 0..<epochs {
                let t0 = now()
                var n = 0
                if host {
                    for b in l.hostBatches(epoch: epoch) { n += b.count }
                } else {
                    try l.forEachBatch(epoch: epoch) { n += $0.count }
                }
                seconds.append(now() - t0)
                guard n == l.sampleCount else { throw BenchError("epoch \(epoch) gave \(n) samples, expected \(l.sampleCount)") }
            }
            return (Double(l.sampleCount) / median(seconds), seconds)
        }
        print("loader throughput (\(samples) synthetic 3×32×32 images, \(epochs) epochs) …")
        let background = try loaderRate(prefetch: 2, host: false)
        let callerThread = try loaderRate(prefetch: 0, host: false)
        let hostOnly = try loaderRate(prefetch: 2, host: true)

        // Training throughput on a fixed batch, both layouts; the faster one is the yardstick.
        print("training throughput …")
        let steps = options.quick ? 3 : 6
        var trainRates: [String: Double] = [:]
        for cl in [false, true] {
            let s = try ResNetTrainStep(batch: batch, channelsLast: cl).time(reps: steps, warmup: 1)
            trainRates[cl ? "channels-last" : "NCHW"] = Double(batch) / median(s)
        }
        let bestLayout = (trainRates["channels-last"] ?? 0) > (trainRates["NCHW"] ?? 0) ? "channels-last" : "NCHW"
        let trainRate = trainRates[bestLayout] ?? .nan

        // Training fed by the loader (same model and steps): does the loader ever stall a step?
        print("training fed by the loader …")
        let fed = try ResNetTrainStep(batch: batch, channelsLast: bestLayout == "channels-last")
        let feeder = try loader(prefetch: 2)
        var fedSeconds: [Double] = []
        var it = feeder.batches(epoch: 0).makeIterator()
        for k in 0..<(steps + 1) {
            let t0 = now()
            guard let b = try it.nextBatch() else { break }
            try fed.step(images: b.images, labels: b.labels)
            if k > 0 { fedSeconds.append(now() - t0) }   // the first step warms up
        }
        let fedRate = Double(batch) / median(fedSeconds)

        // Fashion-MNIST (60,000 28×28 training images, gzipped IDX).
        print("Fashion-MNIST load …")
        var fashionSeconds: [Double] = []
        var fashionNote = ""
        do {
            for _ in 0..<3 {
                let t0 = now()
                let d = try ImageDataset.fashionMNIST(train: true)
                fashionSeconds.append(now() - t0)
                guard d.count == 60_000 else { throw BenchError("Fashion-MNIST training set has \(d.count) images, expected 60000") }
            }
        } catch let e as BenchError {
            throw e
        } catch {
            fashionNote = "Fashion-MNIST not measured: \(error)"
        }
        let fashion = fashionSeconds.isEmpty ? Double.nan : median(fashionSeconds)

        var t = Table(["what", "images/s", "× training"])
        t.add(["loader, 1 background thread (prefetch 2), tensors", fmt(background.rate, 0), fmt(background.rate / trainRate, 1)])
        t.add(["loader on the caller's thread (prefetch 0), tensors", fmt(callerThread.rate, 0), fmt(callerThread.rate / trainRate, 1)])
        t.add(["loader, host arrays only (no tensors)", fmt(hostOnly.rate, 0), fmt(hostOnly.rate / trainRate, 1)])
        t.add(["training, ResNet-18 batch 128, NCHW, fixed batch", fmt(trainRates["NCHW"] ?? .nan, 1), ""])
        t.add(["training, channels-last, fixed batch", fmt(trainRates["channels-last"] ?? .nan, 1), ""])
        t.add(["training (\(bestLayout)) fed by the loader", fmt(fedRate, 1), fmt(fedRate / trainRate, 3)])
        report.add("Loader (random crop pad 4, horizontal flip, CIFAR normalization, shuffled, batch 128) vs training, \(Runtime.threadCount) threads", t)
        var f = Table(["Fashion-MNIST training set (60,000 × 28×28, gzipped IDX)", "seconds"])
        f.add(["load into memory, median of \(fashionSeconds.count)", fmt(fashion, 3)])
        report.add("Dataset load", f)
        if !fashionNote.isEmpty { report.notes.append(fashionNote) }
        report.notes.append("loader figures: median epoch time over \(epochs) epochs of \(samples) images; training: median of \(steps) steps after a warm-up")
        report.meaning = [
            "ratio = loader images/s (background thread, tensors) / training images/s (the faster layout, fixed batch); the target is ≥ 20, i.e. the loader needs under 5 % of the time of a step, and \"training fed by the loader\" should match the fixed-batch rate.",
        ]
        try report.finish(json: [
            ("bench", .string("loader")),
            ("loader_images_per_s", .number(background.rate, digits: 0)),
            ("train_images_per_s", .number(trainRate, digits: 1)),
            ("ratio", .number(background.rate / trainRate, digits: 1)),
            ("fashion_mnist_load_s", fashion.isFinite ? .number(fashion, digits: 3) : .null),
        ])
    }
}
