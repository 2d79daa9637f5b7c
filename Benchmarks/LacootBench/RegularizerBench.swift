import Foundation
import LaCoOT
import LacootWorkflow
import Torch

/// Issue 5: what the LaCoOT term costs. ResNet-18 (CIFAR stem), batch 128: training step time
/// with λ = 5 over λ = 0, with the reference distance (best of 50 random directions) and the
/// optimized one (ascent on the sphere), interleaved.
enum RegularizerBench {
    static func run(_ options: BenchOptions) throws {
        var report = Report(name: "regularizer", options: options)
        try Runtime.setThreadCount(options.threads)
        print("regularizer: libtorch \(Runtime.version), \(Runtime.threadCount) threads; load \(loadAverage())")
        let batch = 128
        let rounds = options.rounds ?? (options.quick ? 2 : 6)
        let perRound = 2
        func side(_ name: String, lambda: Double, mode: DistanceMode, channelsLast: Bool) -> Side {
            Side(name: name) { reps, warmup in
                try ResNetTrainStep(batch: batch, channelsLast: channelsLast, lambda: lambda, mode: mode)
                    .time(reps: reps, warmup: warmup)
            }
        }
        var sides = [
            side("plain", lambda: 0, mode: .reference, channelsLast: false),
            side("reference", lambda: 5, mode: .reference, channelsLast: false),
            side("optimized", lambda: 5, mode: .optimized, channelsLast: false),
        ]
        let withCL = !options.quick
        if withCL {
            sides += [
                side("plain-cl", lambda: 0, mode: .reference, channelsLast: true),
                side("reference-cl", lambda: 5, mode: .reference, channelsLast: true),
                side("optimized-cl", lambda: 5, mode: .optimized, channelsLast: true),
            ]
        }
        print("training steps (\(rounds) rounds × \(perRound) steps per side, \(sides.count) sides) …")
        let samples = try interleaved(rounds: rounds, perRound: perRound, warmup: 1, sides: sides)
        let m = samples.mapValues(median)

        // The distances alone: 4 blocks' features of the real shapes, forward + backward.
        print("distance alone on ResNet-18's block shapes …")
        let shapes = [[64, 16, 16], [128, 8, 8], [256, 4, 4], [512, 2, 2]]
        let g = try Generator(seed: 3)
        let pairs = try shapes.map { s -> (Tensor, Tensor) in
            (try Tensor.randn([batch] + s, generator: g).requiresGrad(true),
             try Tensor.randn([batch] + s, generator: g).requiresGrad(true))
        }
        func distanceTime(_ mode: DistanceMode) throws -> Double {
            let msw = SlicedWasserstein(mode: mode, projectionCount: 50)
            return median(try timeReps(reps: options.quick ? 3 : 10, warmup: 2) {
                var total: Tensor?
                for (x, y) in pairs {
                    try x.zeroGrad()
                    try y.zeroGrad()
                    let d = try msw(x, y, generator: g).distance
                    total = try total.map { try $0 + d } ?? d
                }
                try total?.backward()
            })
        }
        let distRef = try distanceTime(.reference), distOpt = try distanceTime(.optimized)

        var t = Table(["ResNet-18 CIFAR, batch 128", "layout", "median step", "images/s", "over λ = 0"])
        for (layout, suffix) in [("NCHW", "")] + (withCL ? [("channels-last", "-cl")] : []) {
            let plain = m["plain\(suffix)"] ?? .nan
            for (key, label) in [("plain", "λ = 0"), ("reference", "λ = 5, reference MSW (best of 50)"),
                                 ("optimized", "λ = 5, optimized MSW (+5 ascent steps)")] {
                let s = m[key + suffix] ?? .nan
                t.add([label, layout, fmt(s * 1e3, 0) + " ms", fmt(Double(batch) / s, 1), fmt(s / plain, 3)])
            }
        }
        report.add("Training step with the LaCoOT term (4 blocks layerX.1, K = 50, p = 2), \(Runtime.threadCount) threads, medians of \(samples["plain"]?.count ?? 0) steps per side", t)
        var d = Table(["distance alone, 4 blocks, batch 128, forward + backward", "time"])
        d.add(["reference", fmt(distRef * 1e3, 1) + " ms"])
        d.add(["optimized", fmt(distOpt * 1e3, 1) + " ms"])
        report.add("The distances alone (random features of the 4 blocks' shapes: d = 16384, 8192, 4096, 2048)", d)
        report.notes.append("\(rounds) interleaved rounds, side order rotated; each block builds a fresh model and runs 1 warm-up step first")
        report.meaning = [
            "overhead = median step time with λ = 5 / median step time with λ = 0, same layout; the JSON gives the NCHW figures (the Trainer's default layout). Targets: reference ≤ 1.10, optimized ≤ 1.20.",
        ]
        try report.finish(json: [
            ("bench", .string("regularizer")),
            ("overhead_reference", .number((m["reference"] ?? .nan) / (m["plain"] ?? .nan), digits: 3)),
            ("overhead_optimized", .number((m["optimized"] ?? .nan) / (m["plain"] ?? .nan), digits: 3)),
        ])
    }
}
