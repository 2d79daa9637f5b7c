import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Monotonic seconds.
@inline(__always)
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Runs `body` `warmup` times untimed, then `reps` times, returning each duration in seconds.
func timeReps(reps: Int, warmup: Int, _ body: () throws -> Void) rethrows -> [Double] {
    for _ in 0..<warmup { try body() }
    var out: [Double] = []
    out.reserveCapacity(reps)
    for _ in 0..<reps {
        let t0 = now()
        try body()
        out.append(now() - t0)
    }
    return out
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted()
    let m = s.count / 2
    return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/// Runs several sides (e.g. Swift, PyTorch) interleaved: `rounds` rounds, each one a block of
/// `perRound` timed reps per side after `warmup` untimed ones, rotating which side goes first,
/// so that a burst of load from other processes hits every side alike. Returns each side's
/// durations, in the order the sides were given.
func interleaved(rounds: Int, perRound: Int, warmup: Int,
                 _ sides: [(_ reps: Int, _ warmup: Int) throws -> [Double]]) throws -> [[Double]] {
    var out = [[Double]](repeating: [], count: sides.count)
    for round in 0..<rounds {
        for k in 0..<sides.count {
            let i = (k + round) % sides.count
            out[i] += try sides[i](perRound, warmup)
        }
    }
    if ProcessInfo.processInfo.environment["LACOOT_BENCH_SAMPLES"] == "1" {
        for (i, samples) in out.enumerated() {
            FileHandle.standardError.write(Data("  side \(i): \(samples.map { fmt($0 * 1e3, 2) }.joined(separator: " ")) ms\n".utf8))
        }
    }
    return out
}

/// Named sides of an interleaved comparison.
struct Side {
    let name: String
    let run: (_ reps: Int, _ warmup: Int) throws -> [Double]
}

/// `interleaved` over named sides; returns the samples by side name.
func interleaved(rounds: Int, perRound: Int, warmup: Int, sides: [Side]) throws -> [String: [Double]] {
    let samples = try interleaved(rounds: rounds, perRound: perRound, warmup: warmup, sides.map(\.run))
    var out: [String: [Double]] = [:]
    for (side, s) in zip(sides, samples) { out[side.name] = s }
    return out
}
