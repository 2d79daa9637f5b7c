import Foundation

/// An error that ends a benchmark with one clear line.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// A usage error found after parsing (no benchmark named): one line, exit 2.
struct BenchUsageError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// A benchmark that cannot run yet (it waits on another issue's API): exit 3, which
/// scripts/bench reports as "not available yet".
struct BenchUnavailable: Error, CustomStringConvertible {
    let benchmark: String
    let waitsOn: String
    var description: String { "\(benchmark) is not available yet: it waits on \(waitsOn)" }
}

/// A benchmark's run failed: "NAME: what went wrong", exit 1.
struct BenchFailure: Error, CustomStringConvertible {
    let benchmark: String
    let underlying: any Error
    var description: String { "\(benchmark): \(underlying)" }
}
