import Foundation
import LaCoOT
import Torch

/// Where each millisecond of the LaCoOT step goes, op by op, on both sides: libtorch's own
/// profiler around `Trainer.step` (channels-last, fp32) and `torch.profiler` around the
/// authors' step (NCHW, fp32; and channels-last, their faster layout at width 16). Self CPU
/// time per op per step, grouped by what the op does.
enum ProfileBench {
    /// What an op does, for the grouped table.
    static func group(_ op: String) -> String {
        let name = op.hasPrefix("aten::") ? String(op.dropFirst(6)) : op
        if name.contains("convolution") || name.hasPrefix("conv") { return "convolution (fwd + bwd)" }
        if name.contains("batch_norm") { return "batch norm (fwd + bwd)" }
        if name.contains("fused_sgd") || name.contains("foreach") { return "optimizer update" }
        if ["mm", "matmul", "sort", "searchsorted", "gather", "scatter", "argmax", "max", "randn", "normal_", "norm",
            "linalg_vector_norm", "narrow", "select", "index_select", "sqrt", "pow", "clamp", "mean", "sum", "sub", "div",
            "square", "abs", "argsort", "take_along_dim", "diff"].contains(name) || name.hasPrefix("sort") {
            return "distance (projections, sorts, gaps) + loss reductions"
        }
        if ["copy_", "contiguous", "clone", "to", "_to_copy", "empty_like", "permute", "reshape", "view", "as_strided",
            "_reshape_alias", "transpose", "t", "expand"].contains(name) { return "layout and copies" }
        if ["add_", "add", "mul_", "mul", "relu", "relu_", "clamp_min_", "clamp_min", "threshold_backward", "fill_",
            "zero_", "zeros_like", "ones_like", "lerp_", "addcmul_"].contains(name) { return "elementwise (ReLU, residual add, grads)" }
        if name.contains("pool") { return "pooling" }
        if name.contains("cross_entropy") || name.contains("log_softmax") || name.contains("nll_loss") { return "cross-entropy" }
        if name.contains("linear") || name.contains("addmm") { return "classifier (linear)" }
        return "other"
    }

    struct Side {
        let label: String
        let wallMs: Double                 // per step
        let selfMs: [String: Double]       // per step, by op
    }

    static func ours(width: Int, steps: Int) throws -> Side {
        let workload = try ResNetTrainStep(width: width, batch: 128, channelsLast: true, lambda: 5)
        for _ in 0..<2 { try workload.step() }
        let start = DispatchTime.now().uptimeNanoseconds
        let ops = try Profiler.record { for _ in 0..<steps { try workload.step() } }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(steps)
        return Side(label: "lacoot (channels-last)", wallMs: wall,
                    selfMs: Dictionary(ops.map { ($0.name, $0.selfMilliseconds / Double(steps)) }, uniquingKeysWith: +))
    }

    static func theirs(worker: PythonWorker, width: Int, steps: Int, channelsLast: Bool) throws -> Side {
        let reply = try worker.request(["cmd": "profile_step", "width": width, "batch": 128, "lambda": 5,
                                        "channels_last": channelsLast, "reps": steps, "warmup": 2])
        guard let ops = reply["ops"] as? [[String: Any]], let wall = (reply["wall_seconds"] as? NSNumber)?.doubleValue else {
            throw BenchError("the PyTorch worker's profile has no ops: \(reply)")
        }
        var byName: [String: Double] = [:]
        for op in ops {
            guard let name = op["name"] as? String, let ms = (op["self_ms"] as? NSNumber)?.doubleValue else { continue }
            byName[name, default: 0] += ms / Double(steps)
        }
        return Side(label: channelsLast ? "PyTorch + POT (channels-last)" : "authors (PyTorch + POT, NCHW)",
                    wallMs: wall * 1e3 / Double(steps), selfMs: byName)
    }

    static func run(_ options: BenchOptions) throws {
        var report = Report(name: "profile", options: options)
        try Runtime.setThreadCount(options.threads)
        print("profile: libtorch \(Runtime.version), \(Runtime.threadCount) threads; load \(loadAverage())")
        let worker = try PythonWorker(python: Repo.python, threads: options.threads)
        defer { worker.close() }
        var json: [(String, JSONLine.Value)] = [("bench", .string("profile"))]
        for width in [16, 64] {
            let steps = options.quick ? 2 : (width == 16 ? 10 : 4)
            print("width \(width): \(steps) profiled steps per side …")
            let sides = [try ours(width: width, steps: steps),
                         try theirs(worker: worker, width: width, steps: steps, channelsLast: false),
                         try theirs(worker: worker, width: width, steps: steps, channelsLast: true)]
            var groups: [String: [Double]] = [:]
            for (i, side) in sides.enumerated() {
                for (op, ms) in side.selfMs { groups[group(op), default: [0, 0, 0]][i] += ms }
            }
            var g = Table(["ms per step (self CPU)"] + sides.map(\.label))
            for name in groups.keys.sorted(by: { groups[$0]![1] > groups[$1]![1] }) {
                g.add([name] + groups[name]!.map { fmt($0, 2) })
            }
            let attributed = sides.map { $0.selfMs.values.reduce(0, +) }
            g.add(["sum of op self times"] + attributed.map { fmt($0, 2) })
            g.add(["outside ops (framework, Python, POT glue)"] + zip(sides, attributed).map { fmt($0.wallMs - $1, 2) })
            g.add(["wall time per step"] + sides.map { fmt($0.wallMs, 2) })
            report.add("Width \(width), batch 128, λ = 5, fp32: where each millisecond goes, by kind of op", g)

            var top = Table(["op (self CPU ms per step)"] + sides.map(\.label))
            let names = Set(sides.flatMap { $0.selfMs.keys })
            for op in names.sorted(by: { (sides[0].selfMs[$0] ?? 0) + (sides[1].selfMs[$0] ?? 0) > (sides[0].selfMs[$1] ?? 0) + (sides[1].selfMs[$1] ?? 0) }).prefix(14) {
                top.add([op] + sides.map { fmt($0.selfMs[op] ?? 0, 2) })
            }
            report.add("Width \(width): the 14 costliest ops", top)
            json += [("w\(width)_ours_ms", .number(sides[0].wallMs, digits: 2)),
                     ("w\(width)_authors_ms", .number(sides[1].wallMs, digits: 2)),
                     ("w\(width)_pytorch_cl_ms", .number(sides[2].wallMs, digits: 2))]
        }
        report.meaning = ["Self CPU time per op (libtorch's profiler on both sides, same op names), per training step, summed over the profiled steps / steps; 'outside ops' = wall time not inside any op: the framework's own overhead (Python, hooks, POT's glue on their side; Swift and the shim on ours). The profiler adds overhead to both sides; read the shares, and bench reference for speeds."]
        try report.finish(json: json)
    }
}
