import Foundation
import LaCoOT
import Models
import NN
import Torch

/// Issue 6, scaling: how the cost grows with the work — Swift training step time vs batch size
/// and width, and the max-sliced Wasserstein distance's time vs feature dimension d and batch
/// N at fixed K, against its expected O(K·N·d + K·N log N).
enum ScalingBench {
    // size: one benchmark read top to bottom — its interleaved measurement, then the tables it reports
    static func run(_ options: BenchOptions) throws {
        var report = Report(name: "scaling", options: options)
        try Runtime.setThreadCount(options.threads)
        print("scaling: libtorch \(Runtime.version), \(Runtime.threadCount) threads; load \(loadAverage())")
        let reps = options.rounds ?? (options.quick ? 2 : 4)

        // sgemm rate in this run, the yardstick for effective FLOP rates.
        let sgemm = try MachineRates.gemm(.float32, reps: 20)

        // Training step vs batch and width (NCHW, the library's default layout).
        print("training step vs batch size and width …")
        var steps = Table(["ResNet-18 CIFAR step", "MMACs/image", "median step", "images/s", "ms/image", "GFLOP/s", "% of sgemm"])
        var rates: [String: Double] = [:]
        let configs: [(key: String, width: Int, batch: Int)] =
            (options.quick ? [32, 128] : [32, 64, 128, 256]).map { ("b\($0)", 64, $0) }
            + (options.quick ? [16] : [16, 32]).map { ("w\($0)", $0, 128) }
        for c in configs {
            let workload = try ResNetTrainStep(width: c.width, batch: c.batch)
            let macs = Double(try workload.model.cost().macs)
            let s = median(try workload.time(reps: reps, warmup: 1))
            let rate = Double(c.batch) / s
            rates["images_per_s_\(c.key)"] = rate
            if c.key == "b128" { rates["images_per_s_w64"] = rate }
            let gflops = 6 * macs * rate / 1e9
            steps.add(["width \(c.width), batch \(c.batch)", fmt(macs / 1e6, 2), fmt(s * 1e3, 0) + " ms", fmt(rate, 1),
                       fmt(1e3 / rate, 2), fmt(gflops, 1), fmt(100 * gflops / sgemm, 0)])
        }
        report.add("Training step vs batch size and width (NCHW; sgemm 1024³ in this run: \(fmt(sgemm, 1)) GFLOP/s)", steps)

        // MSW forward + backward vs N and d, K = 50.
        print("max-sliced Wasserstein vs N and d …")
        let k = 50
        let points: [(n: Int, d: Int)] =
            [32, 64, 128, 256].map { ($0, 16_384) } + [2_048, 4_096, 8_192, 32_768].map { (128, $0) }
        let reference = SlicedWasserstein(mode: .reference, projectionCount: k)
        let optimized = SlicedWasserstein(mode: .optimized, projectionCount: k)
        var measured: [(n: Int, d: Int, ref: Double, opt: Double)] = []
        for pt in points {
            let g = try Generator(seed: UInt64(pt.n * 7 + pt.d))
            let x = try Tensor.randn([pt.n, pt.d], generator: g).requiresGrad(true)
            let y = try (Tensor.randn([pt.n, pt.d], generator: g) * 1.5 + 0.2).detach().requiresGrad(true)
            func time(_ msw: SlicedWasserstein) throws -> Double {
                median(try timeReps(reps: options.quick ? 5 : 15, warmup: 2) {
                    try x.zeroGrad()
                    try y.zeroGrad()
                    try msw(x, y, generator: g).distance.backward()
                })
            }
            measured.append((pt.n, pt.d, try time(reference), try time(optimized)))
        }
        // Non-negative least-squares fit t = a·K·N·d + b·K·N·log2 N + c·K·d + e over the reference-mode
        // points (K·d: drawing and normalizing the directions).
        let rows = measured.map { m -> [Double] in
            [Double(k * m.n * m.d), Double(k * m.n) * log2(Double(m.n)), Double(k * m.d), 1]
        }
        let coef = nonNegativeLeastSquares(rows, measured.map(\.ref))
        var mswTable = Table(["N", "d", "reference fwd+bwd", "fit", "fit error", "ns per K·N·d", "optimized (5 ascent steps)"])
        var maxErr = 0.0
        for (m, r) in zip(measured, rows) {
            let fit = zip(coef, r).map(*).reduce(0, +)
            let err = Swift.abs(fit - m.ref) / m.ref
            maxErr = Swift.max(maxErr, err)
            mswTable.add([String(m.n), String(m.d), fmt(m.ref * 1e3, 2) + " ms", fmt(fit * 1e3, 2) + " ms",
                          fmt(100 * err, 1) + " %", fmt(m.ref / Double(k * m.n * m.d) * 1e9, 3), fmt(m.opt * 1e3, 2) + " ms"])
        }
        report.add("Max-sliced Wasserstein (K = \(k), p = 2, float32), forward + backward to X and Y, medians", mswTable)
        report.notes.append("fit: t = \(fmt(coef[0] * 1e9, 4)) ns·K·N·d + \(fmt(coef[1] * 1e9, 3)) ns·K·N·log2 N + \(fmt(coef[2] * 1e9, 3)) ns·K·d + \(fmt(coef[3] * 1e3, 3)) ms; K·N·d is the projection matmul (forward and backward), K·N log N the sorts, K·d drawing and normalizing the K random directions")
        report.meaning = [
            "A training step should cost the same per image at every batch size once the batch fills the cores (ms/image flat from batch 64 up), and grow about 4× per width doubling (MACs grow 4×); GFLOP/s = 3 × 2 × MACs × images/s against the sgemm rate measured in the same process.",
            "The distance's cost is linear in K·N·d (the projections) plus the sorts; \"fit error\" says how well that model explains the measured times.",
        ]
        var json: [(String, JSONLine.Value)] = [("bench", .string("scaling"))]
        for key in ["images_per_s_b32", "images_per_s_b64", "images_per_s_b128", "images_per_s_b256",
                    "images_per_s_w16", "images_per_s_w32", "images_per_s_w64"] {
            json.append((key, rates[key].map { .number($0, digits: 1) } ?? .null))
        }
        json.append(("sgemm_gflops", .number(sgemm, digits: 1)))
        json.append(("msw_ns_per_knd", .number(coef[0] * 1e9, digits: 4)))
        json.append(("msw_fit_max_rel_err", .number(maxErr, digits: 3)))
        try report.finish(json: json)
    }

    /// Least squares with every coefficient ≥ 0 (a cost term cannot be negative): fits, drops
    /// the most negative term, refits, until none is negative.
    static func nonNegativeLeastSquares(_ a: [[Double]], _ t: [Double]) -> [Double] {
        let m = a.first?.count ?? 0
        var active = Array(0..<m)
        while !active.isEmpty {
            let c = leastSquares(a.map { row in active.map { row[$0] } }, t)
            if let worst = c.indices.filter({ c[$0] < 0 }).min(by: { c[$0] < c[$1] }) {
                active.remove(at: worst)
                continue
            }
            var out = [Double](repeating: 0, count: m)
            for (i, j) in active.enumerated() { out[j] = c[i] }
            return out
        }
        return [Double](repeating: 0, count: m)
    }

    /// Solves min ‖A c − t‖ (a few unknowns) through the normal equations (columns scaled first).
    static func leastSquares(_ a: [[Double]], _ t: [Double]) -> [Double] {
        let m = a.first?.count ?? 0
        let scale = (0..<m).map { j in Swift.max(a.map { Swift.abs($0[j]) }.max() ?? 1, 1e-300) }
        let s = a.map { row in (0..<m).map { row[$0] / scale[$0] } }
        var ata = [[Double]](repeating: [Double](repeating: 0, count: m + 1), count: m)
        for (row, ti) in zip(s, t) {
            for i in 0..<m {
                for j in 0..<m { ata[i][j] += row[i] * row[j] }
                ata[i][m] += row[i] * ti
            }
        }
        // Gaussian elimination with partial pivoting.
        for col in 0..<m {
            let pivot = (col..<m).max { Swift.abs(ata[$0][col]) < Swift.abs(ata[$1][col]) } ?? col
            ata.swapAt(col, pivot)
            let p = ata[col][col]
            guard Swift.abs(p) > 1e-300 else { continue }
            for r in 0..<m where r != col {
                let f = ata[r][col] / p
                for c in col...m { ata[r][c] -= f * ata[col][c] }
            }
        }
        return (0..<m).map { i in Swift.abs(ata[i][i]) > 1e-300 ? ata[i][m] / ata[i][i] / scale[i] : 0 }
    }
}
