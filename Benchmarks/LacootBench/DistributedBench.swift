import Foundation
import LacootWorkflow
import Models
import NN
import Torch

/// Issue 15: what data-parallel training costs on this host — Gloo's all-reduce of ResNet-18's
/// and Swin-T's gradients between 2 ranks on loopback, the ResNet-18 step with 1 rank × 2
/// threads against 2 ranks × 1 thread (same global batch), the gradient all-reduce's share of
/// the 2-rank step, the global distance's all-gather; then a ring all-reduce model for 8–64 nodes.
///
/// The parent measures the single-process step, then starts itself twice as the ranks
/// (`LACOOT_BENCH_RANK`), which report to it through a JSON file.
enum DistributedBench {
    struct RankFigures: Codable {
        var allReduceSeconds: [String: Double] = [:]   // per gradient set
        var allReduceBytes: [String: Int] = [:]
        var stepSeconds = 0.0            // 2 ranks, λ = 0, all-reduce overlapped with backward
        var communicationShare = 0.0     // of that step: the wait after backward
        var stepNoOverlap = 0.0          // 2 ranks, λ = 0, all-reduce after backward
        var communicationShareNoOverlap = 0.0
        var stepLocalDistance = 0.0      // λ = 5, distance per rank
        var stepGlobalDistance = 0.0     // λ = 5, --global-distance
    }

    static let width = 64, batch = 64

    // size: one benchmark read top to bottom — the ranks' side, the parent's measurement, its tables and the scaling model
    static func run(_ options: BenchOptions) throws {
        let environment = ProcessInfo.processInfo.environment
        if let rank = environment["LACOOT_BENCH_RANK"].flatMap(Int.init), let port = environment["LACOOT_BENCH_PORT"].flatMap(Int.init),
           let out = environment["LACOOT_BENCH_OUT"] {
            try rankMain(rank: rank, port: port, out: out, options: options)
            return
        }
        guard RendezvousStore.isAvailable else { throw BenchError("built without Gloo's headers: install libgloo-dev (scripts/setup) and rebuild") }
        var report = Report(name: "distributed", options: options)
        let reps = options.rounds ?? (options.quick ? 2 : 6)
        print("distributed: libtorch \(Runtime.version), \(Runtime.activeCores) cores; load \(loadAverage())")

        // 1 rank × all threads, the global batch
        try Runtime.setThreadCount(options.threads)
        print("1 rank × \(Runtime.threadCount) threads: ResNet-18 (width \(width)) step, batch \(batch) …")
        let single = try ResNetTrainStep(width: width, batch: batch)
        let singleStep = median(try single.time(reps: reps, warmup: 1))

        // 2 ranks × threads/2
        print("2 ranks × \(max(1, options.threads / 2)) thread(s): all-reduce and step …")
        let figures = try launchRanks(options: options, reps: reps)

        var bandwidth = Table(["gradients", "parameters", "MB", "all-reduce (median)", "MB/s"])
        var algorithmMBps: [String: Double] = [:]
        for name in ["ResNet-18", "Swin-T"] {
            guard let seconds = figures.allReduceSeconds[name], let bytes = figures.allReduceBytes[name] else { continue }
            let mb = Double(bytes) / 1e6
            algorithmMBps[name] = mb / seconds
            bandwidth.add([name, fmt(Double(bytes / 4) / 1e6, 2) + " M", fmt(mb, 1), fmt(seconds * 1e3, 1) + " ms", fmt(mb / seconds, 0)])
        }
        report.add("Gloo all-reduce between 2 ranks on loopback (float32 gradients in 25 MiB buckets, sum then ÷ 2)", bandwidth)

        var steps = Table(["ResNet-18 step, global batch \(batch)", "median", "images/s", "vs 1 rank"])
        steps.add(["1 rank × \(options.threads) threads", fmt(singleStep * 1e3, 0) + " ms", fmt(Double(batch) / singleStep, 1), "1.00"])
        steps.add(["2 ranks × \(max(1, options.threads / 2)) thread(s), λ = 0", fmt(figures.stepSeconds * 1e3, 0) + " ms",
                   fmt(Double(batch) / figures.stepSeconds, 1), fmt(figures.stepSeconds / singleStep, 2)])
        steps.add(["2 ranks, λ = 0, all-reduce after backward (no overlap)", fmt(figures.stepNoOverlap * 1e3, 0) + " ms",
                   fmt(Double(batch) / figures.stepNoOverlap, 1), fmt(figures.stepNoOverlap / singleStep, 2)])
        steps.add(["2 ranks, λ = 5, distance per rank", fmt(figures.stepLocalDistance * 1e3, 0) + " ms",
                   fmt(Double(batch) / figures.stepLocalDistance, 1), fmt(figures.stepLocalDistance / singleStep, 2)])
        steps.add(["2 ranks, λ = 5, --global-distance", fmt(figures.stepGlobalDistance * 1e3, 0) + " ms",
                   fmt(Double(batch) / figures.stepGlobalDistance, 1), fmt(figures.stepGlobalDistance / singleStep, 2)])
        report.add("Training step (SGD, fp32, NCHW), medians; waiting for the gradient all-reduce after backward takes \(fmt(100 * figures.communicationShare, 1)) % of the 2-rank step overlapped with backward, \(fmt(100 * figures.communicationShareNoOverlap, 1)) % without overlap", steps)

        // The scaling model: ring all-reduce over n nodes, per-node compute measured here.
        let gradientBytes = Double(figures.allReduceBytes["ResNet-18"] ?? 0)
        let secondsPerImage = singleStep / Double(batch)
        let latency = 50e-6
        var model = Table(["nodes", "network", "all-reduce", "comm share at 64 img/node", "speed-up at 64 img/node", "img/node for < 10 % comm"])
        for (network, bytesPerSecond) in [("10 GbE", 1.25e9), ("25 GbE", 3.125e9)] {
            for n in [8, 16, 32, 64] {
                let nodes = Double(n)
                let comm = 2 * (nodes - 1) / nodes * gradientBytes / bytesPerSecond + 2 * (nodes - 1) * latency
                let compute = 64 * secondsPerImage
                let share = comm / (comm + compute)
                let speedup = nodes * compute / (compute + comm)
                let minimum = Int((9 * comm / secondsPerImage).rounded(.up))
                model.add(["\(n)", network, fmt(comm * 1e3, 0) + " ms", fmt(100 * share, 1) + " %", fmt(speedup, 1) + "×", "\(max(1, minimum))"])
            }
        }
        report.add("Scaling model: ResNet-18 (\(fmt(gradientBytes / 1e6, 1)) MB of gradients) on n nodes like this one (\(fmt(secondsPerImage * 1e3, 1)) ms per image), ring all-reduce 2(n−1)/n·S/B + 2(n−1)·50 µs, no overlap", model)
        report.notes.append("loopback all-reduce is bounded by memory copies and Gloo's threads, not by a network: the model uses a link bandwidth instead (10 and 25 GbE) and the compute time measured here")
        report.notes.append("the communication share is the time the step waits for the gradient all-reduce after its backward pass (including waiting for the slower rank) over the step time; with the overlap, each 25 MiB bucket's all-reduce starts as soon as backward has produced its gradients (Gloo's threads then share the 2 cores with backward)")
        report.meaning = [
            "On one 2-core host, 2 ranks × 1 thread against 1 rank × 2 threads shows what the data-parallel machinery costs; it pays across hosts. The model says how many images per node keep the all-reduce under 10 % of a step: on CPU nodes the step is long, so a small per-node batch suffices.",
        ]
        try report.finish(json: [
            ("bench", .string("distributed")),
            ("allreduce_mb_s", .number(algorithmMBps["ResNet-18"] ?? 0, digits: 1)),
            ("allreduce_mb_s_swin_t", .number(algorithmMBps["Swin-T"] ?? 0, digits: 1)),
            ("step_ratio_2ranks", .number(figures.stepSeconds / singleStep, digits: 3)),
            ("comm_share", .number(figures.communicationShare, digits: 3)),
            ("comm_share_no_overlap", .number(figures.communicationShareNoOverlap, digits: 3)),
            ("global_distance_cost", .number(figures.stepGlobalDistance / figures.stepLocalDistance, digits: 3)),
        ])
    }

    /// Starts this benchmark twice as ranks 0 and 1 (threads ÷ 2 each) and returns rank 0's figures.
    static func launchRanks(options: BenchOptions, reps: Int) throws -> RankFigures {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-bench-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let port = 30_000 + Int.random(in: 0..<20_000)
        var processes: [Process] = []
        for rank in 0..<2 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            process.arguments = ["distributed", "--threads", "\(max(1, options.threads / 2))", "--rounds", "\(reps)"]
            var environment = ProcessInfo.processInfo.environment
            environment["LACOOT_BENCH_RANK"] = "\(rank)"
            environment["LACOOT_BENCH_PORT"] = "\(port)"
            environment["LACOOT_BENCH_OUT"] = out
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            processes.append(process)
        }
        for process in processes { process.waitUntilExit() }
        guard processes.allSatisfy({ $0.terminationStatus == 0 }), let data = FileManager.default.contents(atPath: out) else {
            throw BenchError("a rank failed (exit \(processes.map(\.terminationStatus)))")
        }
        return try JSONDecoder().decode(RankFigures.self, from: data)
    }

    /// One rank: joins the group, times the all-reduces and the steps, rank 0 writes `out`.
    static func rankMain(rank: Int, port: Int, out: String, options: BenchOptions) throws {
        try Runtime.setThreadCount(options.threads)
        let reps = options.rounds ?? 6
        let store = try RendezvousStore(host: "127.0.0.1", port: port, isServer: rank == 0, worldSize: 2, timeoutSeconds: 120)
        let group = try ProcessGroup(store: store, rank: rank, worldSize: 2, timeoutSeconds: 600, deviceHost: "127.0.0.1")
        var figures = RankFigures()
        let sets: [(String, ModelArchitecture)] = [
            ("ResNet-18", ModelArchitecture(kind: .resNet18, classCount: 10, stem: .cifar, width: 64)),
            ("Swin-T", ModelArchitecture(kind: .swinTransformer, classCount: 1000, stem: .imageNet, swin: .swinT)),
        ]
        for (name, architecture) in sets {
            let gradients = try architecture.build().namedParameters().map { try Tensor.ones($0.tensor.shape) }
            figures.allReduceBytes[name] = gradients.reduce(0) { $0 + $1.shape.reduce(1, *) * 4 }
            try group.allReduce(gradients, divisor: 2)   // warm-up: connections, buffers
            figures.allReduceSeconds[name] = median(try timeReps(reps: reps, warmup: 1) {
                try group.allReduce(gradients, divisor: 2)
            })
        }
        func stepTime(lambda: Double, global: Bool, overlap: Bool = true) throws -> (Double, Double) {
            let workload = try ResNetTrainStep(width: width, batch: batch / 2, lambda: lambda)
            let parallel = DataParallel(group: group, globalDistance: global)
            parallel.overlapsBackward = overlap
            try parallel.prepare(workload.model)
            workload.trainer.synchronization = parallel
            try workload.step()
            let before = parallel.communicationSeconds
            let times = try timeReps(reps: reps, warmup: 0) { try workload.step() }
            return (median(times), (parallel.communicationSeconds - before) / times.reduce(0, +))
        }
        (figures.stepSeconds, figures.communicationShare) = try stepTime(lambda: 0, global: false)
        (figures.stepNoOverlap, figures.communicationShareNoOverlap) = try stepTime(lambda: 0, global: false, overlap: false)
        figures.stepLocalDistance = try stepTime(lambda: 5, global: false).0
        figures.stepGlobalDistance = try stepTime(lambda: 5, global: true).0
        try group.barrier()
        if rank == 0 { try JSONEncoder().encode(figures).write(to: URL(fileURLWithPath: out)) }
    }
}
