import Foundation
import Torch

struct Options {
    var threads: Int = Runtime.activeCores
    /// Interleaved rounds (each side runs a short block of reps per round); nil: the
    /// benchmark's own default.
    var rounds: Int?
    /// Where to write this benchmark's Markdown section (for BENCHMARKS.md).
    var markdown: URL?
    var quick = false

    static let usage = "usage: LacootBench NAME [--threads N] [--rounds R] [--quick] [--markdown FILE]"

    static func parse(_ args: ArraySlice<String>) throws -> Options {
        var o = Options()
        var it = args.makeIterator()
        while let a = it.next() {
            func value() throws -> String {
                guard let v = it.next() else { throw BenchError("\(a) needs a value; \(usage)") }
                return v
            }
            switch a {
            case "--threads":
                guard let n = Int(try value()), n >= 1 else { throw BenchError("--threads needs a positive integer") }
                o.threads = n
            case "--rounds":
                guard let n = Int(try value()), n >= 1 else { throw BenchError("--rounds needs a positive integer") }
                o.rounds = n
            case "--markdown": o.markdown = URL(fileURLWithPath: try value())
            case "--quick": o.quick = true
            default: throw BenchError("unknown option \(a); \(usage)")
            }
        }
        return o
    }
}
