import Testing
@testable import Torch

@Suite struct ProfilerTests {
    @Test func selfTimeSubtractsDirectChildrenOnTheSameThread() {
        // outer [0, 100] holds a [10, 40] (which holds b [15, 25]) and a [50, 60]; another
        // thread's c [20, 90] overlaps but is not nested.
        let text = "outer\t1\t0\t100\na\t1\t10\t40\nb\t1\t15\t25\na\t1\t50\t60\nc\t2\t20\t90\n"
        let ops = Dictionary(uniqueKeysWithValues: Profiler.totals(fromEvents: text).map { ($0.name, $0) })
        #expect(ops["outer"]?.selfMilliseconds == 60e-6)      // 100 − 30 − 10
        #expect(ops["outer"]?.totalMilliseconds == 100e-6)
        #expect(ops["a"]?.calls == 2)
        #expect(ops["a"]?.selfMilliseconds == 30e-6)          // (30 − 10) + 10
        #expect(ops["b"]?.selfMilliseconds == 10e-6)
        #expect(ops["c"]?.selfMilliseconds == 70e-6)
    }

    @Test func recordsLibtorchOpsByName() throws {
        let x = try Tensor.randn([64, 64], generator: Generator(seed: 0))
        let ops = try Profiler.record { _ = try x.matmul(x).relu() }
        let names = Set(ops.map(\.name))
        #expect(names.contains("aten::matmul") || names.contains("aten::mm"))
        #expect(names.contains("aten::relu"))
        for op in ops { #expect(op.totalMilliseconds >= op.selfMilliseconds) }
        // the profiler is off again: a second recording starts cleanly
        #expect(try Profiler.record { _ = try x.relu() }.contains { $0.name == "aten::relu" })
    }
}
