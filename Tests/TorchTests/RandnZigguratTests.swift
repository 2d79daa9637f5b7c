import Foundation
import Testing
import Torch

/// The ziggurat sampler draws the standard normal law (moments, the distribution function, the
/// tail beyond the ziggurat's base, no correlation between neighbours), from the generator's
/// state: the same state gives the same values, and each call moves the generator on.
@Suite struct RandnZigguratTests {
    let n = 400_000

    /// Φ, the standard normal distribution function.
    func phi(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    @Test func samplesFollowTheStandardNormalLaw() throws {
        let values = try Tensor.randnZiggurat([n / 50, 50], dtype: .float64, generator: Generator(seed: 11))
            .values(as: Double.self)
        #expect(values.count == n)
        let count = Double(n)
        let mean = values.reduce(0, +) / count
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / count
        #expect(abs(mean) < 5 / count.squareRoot(), "mean \(mean)")
        #expect(abs(variance - 1) < 5 * (2 / count).squareRoot(), "variance \(variance)")
        let fourth = values.map { pow($0, 4) }.reduce(0, +) / count
        #expect(abs(fourth - 3) < 5 * (96 / count).squareRoot(), "fourth moment \(fourth)")

        // Kolmogorov–Smirnov against Φ (critical value at the 0.1 % level: 1.95 / √n)
        let sorted = values.sorted()
        var ks = 0.0
        for (i, x) in sorted.enumerated() {
            let f = phi(x)
            ks = max(ks, abs(Double(i + 1) / count - f), abs(f - Double(i) / count))
        }
        #expect(ks < 1.95 / count.squareRoot(), "KS statistic \(ks)")

        // the tail beyond R = 3.654 (the base layer's exact tail sampler): expected n · 2.58e-4
        let tailProbability = erfc(3.6541528853610088 / 2.0.squareRoot())
        let tail = Double(values.filter { abs($0) > 3.6541528853610088 }.count)
        let expected = count * tailProbability
        #expect(abs(tail - expected) < 5 * expected.squareRoot(), "\(tail) samples in the tail, \(expected) expected")
        #expect(values.contains { $0 > 4 } && values.contains { $0 < -4 })

        // neighbours (the same column's next row, the next column) are uncorrelated
        for lag in [1, 50] {
            let r = zip(values, values.dropFirst(lag)).map { ($0 - mean) * ($1 - mean) }.reduce(0, +) / (count * variance)
            #expect(abs(r) < 5 / count.squareRoot(), "lag-\(lag) correlation \(r)")
        }
    }

    /// The wedges (the curve's edge in each layer, ~1 % of the samples) checked finely: 8 million
    /// samples in 200 bins of equal probability, Pearson's χ² against 199 degrees of freedom
    /// (critical value at the 0.1 % level: 267).
    @Test func binsOfEqualProbabilityFillEqually() throws {
        let bins = 200, samples = 8_000_000
        let values = try Tensor.randnZiggurat([samples], dtype: .float64, generator: Generator(seed: 23)).values(as: Double.self)
        var counts = [Int](repeating: 0, count: bins)
        for x in values { counts[min(bins - 1, Int(phi(x) * Double(bins)))] += 1 }
        let expected = Double(samples) / Double(bins)
        let chiSquare = counts.map { (Double($0) - expected) * (Double($0) - expected) / expected }.reduce(0, +)
        #expect(chiSquare < 267, "χ² \(chiSquare) over \(bins) bins")
    }

    @Test func theGeneratorStateGivesTheValuesAndEachCallMovesItOn() throws {
        let g = try Generator(seed: 5)
        let saved = try g.state()
        let first = try Tensor.randnZiggurat([300, 7], generator: g).floats()
        let second = try Tensor.randnZiggurat([300, 7], generator: g).floats()
        #expect(first != second)
        let again = try Generator(seed: 99)
        try again.setState(saved)
        #expect(try Tensor.randnZiggurat([300, 7], generator: again).floats() == first)
        #expect(try Tensor.randnZiggurat([300, 7], generator: again).floats() == second)
        // float32 is float64's values rounded: the same streams
        try again.setState(saved)
        let wide = try Tensor.randnZiggurat([300, 7], dtype: .float64, generator: again).values(as: Double.self)
        #expect(wide.map { Float($0) } == first)
    }

    @Test func unitColumnsAreTheSameSamplesNormalized() throws {
        let saved = try Generator(seed: 8)
        let state = try saved.state()
        let columns = try Tensor.randomUnitColumns(rows: 1_000, columns: 13, generator: saved)
        #expect(columns.shape == [1_000, 13])
        let norms = try columns.square().sum(dims: [0]).sqrt().floats()
        #expect(norms.allSatisfy { abs($0 - 1) < 1e-5 }, "\(norms)")
        let again = try Generator(seed: 1)
        try again.setState(state)
        let gaussian = try Tensor.randnZiggurat([1_000, 13], dtype: .float64, generator: again)
        let expected = try (gaussian / gaussian.square().sum(dims: [0], keepDim: true).sqrt()).to(.float32)
        #expect(try (columns - expected).abs().amax().item() < 1e-6)
        #expect(throws: TorchError.self) { try Tensor.randomUnitColumns(rows: 0, columns: 3, generator: nil) }
    }

    @Test func onlyFloatingPointIsMade() throws {
        #expect(throws: TorchError.self) { try Tensor.randnZiggurat([4], dtype: .int64, generator: nil) }
    }
}
