import CTorch

/// libtorch's own profiler (the one `torch.profiler` drives), for op-by-op timing of a piece
/// of Swift code: the same op names PyTorch's profiler reports, so two sides compare row by row.
///
/// ```swift
/// let ops = try Profiler.record { try trainer.step(images: x, labels: y, fractionalEpoch: 0) }
/// for op in ops.prefix(10) { print(op.name, op.selfMilliseconds) }
/// ```
public enum Profiler {
    /// One op name's totals over the recorded run.
    public struct OpTotals: Sendable, Equatable {
        public let name: String
        public let calls: Int
        /// Time inside the op minus the ops it called (PyTorch's "self CPU").
        public let selfMilliseconds: Double
        /// Time inside the op, callees included (PyTorch's "CPU total").
        public let totalMilliseconds: Double
    }

    /// Runs `body` under the profiler and returns the ops by self time, largest first.
    public static func record(_ body: () throws -> Void) throws -> [OpTotals] {
        try check(ct_profiler_start())
        var failure: Error?
        do { try body() } catch { failure = error }
        guard let text = ct_profiler_stop() else { throw TorchError.last() }
        defer { ct_free_string(text) }
        if let failure { throw failure }
        return totals(fromEvents: String(cString: text))
    }

    /// Aggregates "name\tthread\tstart\tend" lines by name; self time subtracts the events
    /// nested directly inside each event on the same thread.
    static func totals(fromEvents text: String) -> [OpTotals] {
        struct Event { let name: String; let thread: Substring; let start: UInt64; let end: UInt64 }
        var events: [Event] = []
        for line in text.split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count == 4, let start = UInt64(f[2]), let end = UInt64(f[3]), end >= start else { continue }
            events.append(Event(name: String(f[0]), thread: f[1], start: start, end: end))
        }
        events.sort { ($0.thread, $0.start, $1.end) < ($1.thread, $1.start, $0.end) }
        var selfTime = [UInt64](repeating: 0, count: events.count)
        var stack: [Int] = []
        for (i, e) in events.enumerated() {
            while let top = stack.last, events[top].thread != e.thread || events[top].end <= e.start { stack.removeLast() }
            selfTime[i] = e.end - e.start
            if let parent = stack.last { selfTime[parent] -= min(selfTime[parent], e.end - e.start) }
            stack.append(i)
        }
        var byName: [String: (calls: Int, selfNs: UInt64, totalNs: UInt64)] = [:]
        for (i, e) in events.enumerated() {
            var entry = byName[e.name] ?? (0, 0, 0)
            entry.calls += 1
            entry.selfNs += selfTime[i]
            entry.totalNs += e.end - e.start
            byName[e.name] = entry
        }
        return byName.map { OpTotals(name: $0.key, calls: $0.value.calls, selfMilliseconds: Double($0.value.selfNs) / 1e6,
                                     totalMilliseconds: Double($0.value.totalNs) / 1e6) }
            .sorted { $0.selfMilliseconds > $1.selfMilliseconds }
    }
}
