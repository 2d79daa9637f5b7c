import Foundation
import Testing
@testable import Torch

/// The collectives and SyncBatchNorm on a group of one rank (the arithmetic; the
/// multi-process behaviour is tested through `lacoot train --nproc 2` in LacootCLITests).
@Suite(.enabled(if: RendezvousStore.isAvailable, "built without Gloo's headers (libgloo-dev)"))
struct ProcessGroupTests {
    static func group() throws -> ProcessGroup {
        let store = try RendezvousStore(host: "127.0.0.1", port: 0, isServer: true, worldSize: 1, timeoutSeconds: 30)
        return try ProcessGroup(store: store, rank: 0, worldSize: 1, timeoutSeconds: 30, deviceHost: "127.0.0.1")
    }

    /// One rank: the all-reduce leaves sums as they are and divides by the divisor, across
    /// buckets smaller than one tensor; the gather returns the tensor; the store counts.
    @Test func collectivesOfOneRank() throws {
        let group = try Self.group()
        let a = try Tensor([1, 2, 3, 4] as [Float], shape: [2, 2]), b = try Tensor([10, 20] as [Float], shape: [2])
        try group.allReduce([a, b], bucketBytes: 8, divisor: 2)
        #expect(try a.floats() == [0.5, 1, 1.5, 2] && b.floats() == [5, 10])
        #expect(try group.allGather(b).floats() == [5, 10])
        try group.barrier()
        #expect(try group.store.add("k", 3) == 3 && group.store.add("k", 0) == 3)
    }

    /// SyncBatchNorm of one rank is BatchNorm: output, running statistics and the gradients of
    /// input, weight and bias agree with libtorch's batch_norm.
    @Test func syncBatchNormOfOneRankIsBatchNorm() throws {
        let group = try Self.group()
        let g = try Generator(seed: 3)
        let x0 = try (Tensor.randn([6, 3, 4, 5], generator: g) * 2.0 + 5.0)
        let w0 = try Tensor.randn([3], generator: g), b0 = try Tensor.randn([3], generator: g)
        let upstream = try Tensor.randn([6, 3, 4, 5], generator: g)
        func run(_ sync: Bool) throws -> [[Float]] {
            let x = try x0.clone().requiresGrad(true), w = try w0.clone().requiresGrad(true), b = try b0.clone().requiresGrad(true)
            let mean = try Tensor.zeros([3]), variance = try Tensor.ones([3])
            let y = sync ? try group.syncBatchNorm(x, weight: w, bias: b, runningMean: mean, runningVar: variance, momentum: 0.1, eps: 1e-5)
                : try Functional.batchNorm(x, weight: w, bias: b, runningMean: mean, runningVar: variance, training: true, momentum: 0.1, eps: 1e-5)
            try (y * upstream).sum().backward()
            return try [y.floats(), mean.floats(), variance.floats(), x.grad!.floats(), w.grad!.floats(), b.grad!.floats()]
        }
        let (synced, plain) = (try run(true), try run(false))
        for (part, (s, p)) in ["output", "running mean", "running var", "input grad", "weight grad", "bias grad"].enumerated().map({ ($0.element, (synced[$0.offset], plain[$0.offset])) }) {
            let worst = zip(s, p).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-4, "\(part): differs by \(worst)")
        }
    }

    /// Two ranks in two threads of this process: SyncBatchNorm over the halves of a batch is
    /// BatchNorm over the whole batch — outputs and input gradients are the halves of the
    /// whole's, weight and bias gradients sum to the whole's.
    @Test func syncBatchNormOfTwoRanksIsBatchNormOfTheirUnion() throws {
        let g = try Generator(seed: 5)
        let x0 = try (Tensor.randn([8, 3, 4, 4], generator: g) * 3.0 + 2.0)
        let w0 = try Tensor.randn([3], generator: g), b0 = try Tensor.randn([3], generator: g)
        let upstream = try Tensor.randn([8, 3, 4, 4], generator: g)
        let server = try RendezvousStore(host: "127.0.0.1", port: 0, isServer: true, worldSize: 2, timeoutSeconds: 30)
        let port = server.port
        nonisolated(unsafe) var results: [[[Float]]] = [[], []]
        nonisolated(unsafe) var failures: [String] = []
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 2) { rank in
            do {
                let store = rank == 0 ? server : try RendezvousStore(host: "127.0.0.1", port: port, isServer: false, worldSize: 2, timeoutSeconds: 30)
                let group = try ProcessGroup(store: store, rank: rank, worldSize: 2, timeoutSeconds: 30, deviceHost: "127.0.0.1")
                let x = try x0.narrow(0, start: 4 * rank, length: 4).clone().requiresGrad(true)
                let w = try w0.clone().requiresGrad(true), b = try b0.clone().requiresGrad(true)
                let y = try group.syncBatchNorm(x, weight: w, bias: b, runningMean: nil, runningVar: nil, momentum: 0.1, eps: 1e-5)
                try (y * upstream.narrow(0, start: 4 * rank, length: 4)).sum().backward()
                let out = try [y.floats(), x.grad!.floats(), w.grad!.floats(), b.grad!.floats()]
                lock.withLock { results[rank] = out }
            } catch {
                lock.withLock { failures.append("rank \(rank): \(error)") }
            }
        }
        #expect(failures.isEmpty, "\(failures)")
        guard failures.isEmpty else { return }
        let x = try x0.clone().requiresGrad(true), w = try w0.clone().requiresGrad(true), b = try b0.clone().requiresGrad(true)
        let y = try Functional.batchNorm(x, weight: w, bias: b, runningMean: nil, runningVar: nil, training: true, momentum: 0.1, eps: 1e-5)
        try (y * upstream).sum().backward()
        let expected = try [y.floats(), x.grad!.floats(), w.grad!.floats(), b.grad!.floats()]
        let got = [results[0][0] + results[1][0], results[0][1] + results[1][1],
                   zip(results[0][2], results[1][2]).map { $0 + $1 }, zip(results[0][3], results[1][3]).map { $0 + $1 }]
        for (part, name) in ["output", "input grad", "weight grad", "bias grad"].enumerated() {
            let worst = zip(got[part], expected[part]).map { abs($0 - $1) }.max() ?? .infinity
            #expect(got[part].count == expected[part].count && worst < 1e-4, "\(name): differs by \(worst)")
        }
    }
}
