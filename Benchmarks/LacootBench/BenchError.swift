import Foundation

/// An error that ends a benchmark with one clear line.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
