import Foundation
import Torch

/// Issue 2: the binding must cost nothing measurable on real work. The same ops from Swift
/// and from PyTorch (same libtorch), interleaved in one invocation, medians.
enum EngineBench {
    static let batch = 128, channels = 64, side = 32
    /// MACs of the 3×3 64→64 pad-1 conv on 128×64×32×32.
    static let convMACs = Double(batch * channels * channels * 9 * side * side)
    static let matmulN = 1024
    static let addsPerRep = 10_000

    // size: one benchmark read top to bottom — its interleaved measurement, then the tables it reports
    static func run(_ options: BenchOptions) throws {
        var report = Report(name: "engine", options: options)
        try Runtime.setThreadCount(options.threads)
        let swiftThreads = Runtime.threadCount   // read on the thread that runs the ops
        let py = try PythonWorker(threads: options.threads)
        defer { py.close() }
        let info = try py.info()
        let pyThreads = (info["threads"] as? NSNumber)?.intValue ?? -1
        let pyTorch = info["torch"] as? String ?? "?"
        print("engine: libtorch \(Runtime.version) from Swift (\(swiftThreads) threads), PyTorch \(pyTorch) (\(pyThreads) threads); load \(loadAverage())")
        if swiftThreads != options.threads || pyThreads != options.threads {
            report.notes.append("thread counts differ from the \(options.threads) asked: Swift \(swiftThreads), PyTorch \(pyThreads)")
        }

        let gen = try Generator(seed: 0)
        let x = try Tensor.randn([batch, channels, side, side], generator: gen)
        let w = try Tensor.randn([channels, channels, 3, 3], generator: gen) * 0.05
        let xCL = try x.contiguous(.channelsLast)
        let wCL = try w.contiguous(.channelsLast)
        // Leaves for the backward cases (gradients to input and weight).
        let xg = try x.detach().requiresGrad(true), wg = try w.detach().requiresGrad(true)
        let xgCL = try xCL.detach().requiresGrad(true), wgCL = try wCL.detach().requiresGrad(true)
        let a = try Tensor.randn([matmulN, matmulN], generator: gen)
        let b = try Tensor.randn([matmulN, matmulN], generator: gen)
        let one = try Tensor.randn([1], generator: gen), two = try Tensor.randn([1], generator: gen)

        func swiftSide(_ body: @escaping () throws -> Void) -> (Int, Int) throws -> [Double] {
            { reps, warmup in try timeReps(reps: reps, warmup: warmup, body) }
        }
        func pythonSide(_ name: String) -> (Int, Int) throws -> [Double] {
            { reps, warmup in try py.seconds(["cmd": "engine", "case": name, "reps": reps, "warmup": warmup]) }
        }
        func convForward(_ x: Tensor, _ w: Tensor) throws {
            try withNoGrad { _ = try Functional.conv2d(x, weight: w, padding: (1, 1)) }
        }
        func convForwardBackward(_ x: Tensor, _ w: Tensor) throws {
            try x.zeroGrad()
            try w.zeroGrad()
            try Functional.conv2d(x, weight: w, padding: (1, 1)).sum().backward()
        }

        // One timed rep per side per round (after one warm-up), many rounds, side order rotated:
        // a burst of load from another process then lands on both sides alike.
        let rounds = options.rounds ?? (options.quick ? 3 : 12)
        let convReps = 1
        print("conv forward …")
        let fwd = try interleaved(rounds: rounds, perRound: convReps, warmup: 1, [
            swiftSide { try convForward(x, w) },
            swiftSide { try convForward(xCL, wCL) },
            pythonSide("conv_fwd"),
        ])
        print("conv forward+backward …")
        let fwdbwd = try interleaved(rounds: rounds, perRound: convReps, warmup: 1, [
            swiftSide { try convForwardBackward(xg, wg) },
            swiftSide { try convForwardBackward(xgCL, wgCL) },
            pythonSide("conv_fwdbwd"),
        ])
        print("matmul …")
        let mm = try interleaved(rounds: rounds, perRound: 5, warmup: 1, [
            swiftSide { _ = try a.matmul(b) },
            pythonSide("matmul"),
        ])
        print("one-element add …")
        var add = try interleaved(rounds: rounds, perRound: 1, warmup: 1, [
            swiftSide { for _ in 0..<addsPerRep { _ = try one + two } },
            pythonSide("add1"),
        ])
        add[0] = add[0].map { $0 / Double(addsPerRep) }   // the worker already reports per add

        let convFwdFlop = 2 * convMACs, convFwdBwdFlop = 6 * convMACs
        let mmFlop = 2 * pow(Double(matmulN), 3)
        let m = (fwd: fwd.map(median), fwdbwd: fwdbwd.map(median), mm: mm.map(median), add: add.map(median))

        var table = Table(["case", "Swift", "PyTorch", "Swift GFLOP/s", "PyTorch GFLOP/s", "Swift/PyTorch"])
        func row(_ name: String, _ s: Double, _ p: Double, flop: Double) {
            table.add([name, fmt(s * 1e3, 1) + " ms", fmt(p * 1e3, 1) + " ms",
                       fmt(flop / s / 1e9, 1), fmt(flop / p / 1e9, 1), fmt(p / s, 3)])
        }
        row("conv 3×3 64→64, 128×32×32, forward (no grad)", m.fwd[0], m.fwd[2], flop: convFwdFlop)
        row("conv forward+backward (input, weight)", m.fwdbwd[0], m.fwdbwd[2], flop: convFwdBwdFlop)
        row("conv forward, Swift channels-last vs PyTorch NCHW", m.fwd[1], m.fwd[2], flop: convFwdFlop)
        row("conv forward+backward, Swift channels-last vs PyTorch NCHW", m.fwdbwd[1], m.fwdbwd[2], flop: convFwdBwdFlop)
        row("matmul 1024³ float32", m.mm[0], m.mm[1], flop: mmFlop)
        table.add(["one-element add (per op)", fmt(m.add[0] * 1e6, 2) + " µs", fmt(m.add[1] * 1e6, 2) + " µs",
                   "", "", fmt(m.add[1] / m.add[0], 3)])
        report.add("Engine: Swift (libtorch \(Runtime.version), \(swiftThreads) threads) vs PyTorch \(pyTorch) (\(pyThreads) threads), medians", table)
        report.notes.append("medians of \(fwd[0].count) conv, \(mm[0].count) matmul and \(add[0].count)×\(addsPerRep) add repetitions per side, \(rounds) interleaved rounds (side order rotated each round), warm-up before each block")
        report.notes.append("Swift/PyTorch = PyTorch time / Swift time (throughput ratio; > 1 means Swift is faster)")
        report.meaning = [
            "Both sides call the same libtorch build, so the conv and matmul ratios measure what the binding adds on real work (the target is ≥ 0.97); the one-element add measures the fixed cost of one op call (Swift: allocation of the result handle + one C call; PyTorch: the Python interpreter and its argument parsing).",
            "GFLOP/s counts 2 × MACs for a forward pass and 3 × 2 × MACs for forward+backward (gradients to input and weight); the target for the Swift NCHW forward+backward is ≥ 90 GFLOP/s on 2 cores. The channels-last rows run the Swift conv on NHWC tensors (oneDNN's native layout) against the same PyTorch NCHW figures.",
        ]
        try report.finish(json: [
            ("bench", .string("engine")),
            ("conv_fwd_ratio", .number(m.fwd[2] / m.fwd[0], digits: 3)),
            ("conv_fwdbwd_ratio", .number(m.fwdbwd[2] / m.fwdbwd[0], digits: 3)),
            ("matmul_ratio", .number(m.mm[1] / m.mm[0], digits: 3)),
            ("op_overhead_us_swift", .number(m.add[0] * 1e6, digits: 3)),
            ("op_overhead_us_python", .number(m.add[1] * 1e6, digits: 3)),
            ("gflops_conv_fwdbwd", .number(convFwdBwdFlop / m.fwdbwd[0] / 1e9, digits: 1)),
        ])
    }
}
