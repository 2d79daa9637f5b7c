import Foundation
import Testing
@testable import LaCoOT
import Torch

/// The POT fixture written by Benchmarks/reference/make_msw_fixture.py.
struct POTFixture: Decodable {
    struct Case: Decodable {
        let name: String
        let n: Int, d: Int, k: Int, p: Int
        let X: [[Double]], Y: [[Double]], theta: [[Double]]
        let msw: Double, sw: Double
    }
    let pot_version: String
    let cases: [Case]

    static func load() throws -> POTFixture {
        guard let url = Bundle.module.url(forResource: "msw_pot", withExtension: "json", subdirectory: "Fixtures") else {
            throw TorchError("fixture Fixtures/msw_pot.json missing from the test bundle")
        }
        return try JSONDecoder().decode(POTFixture.self, from: Data(contentsOf: url))
    }
}

func matrix(_ rows: [[Double]]) throws -> Tensor {
    try Tensor(rows.flatMap { $0 }, shape: [rows.count, rows.first?.count ?? 0])
}

@Suite struct SlicedWassersteinTests {
    @Test func agreesWithPOTGivenTheSameDirections() throws {
        let fixture = try POTFixture.load()
        #expect(fixture.cases.count >= 5)
        for c in fixture.cases {
            let x = try matrix(c.X), y = try matrix(c.Y), theta = try matrix(c.theta)
            for dtype in [DType.float64, .float32] {
                let tolerance = dtype == .float64 ? 1e-9 : 1e-5
                let xs = try x.to(dtype), ys = try y.to(dtype), th = try theta.to(dtype)
                let msw = try SlicedWasserstein(mode: .reference, projectionCount: c.k, p: Double(c.p))(xs, ys, directions: th)
                let sw = try SlicedWasserstein(mode: .sliced, projectionCount: c.k, p: Double(c.p))(xs, ys, directions: th)
                let mv = try msw.distance.item(), sv = try sw.distance.item()
                #expect(abs(mv - c.msw) <= tolerance * max(1, abs(c.msw)), "\(c.name) \(dtype): max-sliced \(mv) vs POT \(c.msw)")
                #expect(abs(sv - c.sw) <= tolerance * max(1, abs(c.sw)), "\(c.name) \(dtype): sliced \(sv) vs POT \(c.sw)")
            }
        }
    }

    @Test func inOneDimensionEqualsTheExactW2() throws {
        let xs: [Double] = [0.3, -1.2, 2.5, 0.0, 4.1, -0.7]
        let ys: [Double] = [1.0, 0.2, -3.3, 2.2, 0.9, 5.5]
        let exact = sqrt(zip(xs.sorted(), ys.sorted()).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 6)
        let x = try Tensor(xs, shape: [6, 1]), y = try Tensor(ys, shape: [6, 1])
        let value = try SlicedWasserstein(projectionCount: 7)(x, y, generator: Generator(seed: 3)).distance.item()
        #expect(abs(value - exact) < 1e-12)
    }

    @Test func isZeroBetweenABatchAndItselfAndHasFiniteGradients() throws {
        let x = try Tensor.randn([16, 32], dtype: .float64, generator: Generator(seed: 1)).requiresGrad(true)
        let r = try SlicedWasserstein()(x, x, generator: Generator(seed: 2))
        #expect(try r.distance.item() < 1e-12)
        try r.distance.backward()
        let g = try #require(try x.grad).doubles()
        #expect(g.allSatisfy { $0.isFinite })
    }

    @Test func ignoresTheOrderOfSamples() throws {
        let g = try Generator(seed: 4)
        let x = try Tensor.randn([10, 8], dtype: .float64, generator: g)
        let y = try Tensor.randn([10, 8], dtype: .float64, generator: g) * 2
        let directions = try SlicedWasserstein.randomDirections(dimension: 8, count: 20, dtype: .float64, generator: g)
        let perm = try Tensor.randperm(10, generator: g)
        for mode in DistanceMode.allCases {
            let d = SlicedWasserstein(mode: mode, projectionCount: 20)
            let a = try d(x, y, directions: directions).distance.item()
            let b = try d(x.indexSelect(0, perm), y, directions: directions).distance.item()
            let c = try d(x, y.indexSelect(0, perm), directions: directions).distance.item()
            #expect(abs(a - b) < 1e-12 && abs(a - c) < 1e-12, "\(mode): \(a) \(b) \(c)")
        }
    }

    @Test func gradientMatchesFiniteDifferences() throws {
        let g = try Generator(seed: 5)
        let x = try Tensor.randn([6, 4], dtype: .float64, generator: g)
        let y = try Tensor.randn([6, 4], dtype: .float64, generator: g) + 0.5
        let directions = try SlicedWasserstein.randomDirections(dimension: 4, count: 9, dtype: .float64, generator: g)
        let distance = SlicedWasserstein(mode: .reference, projectionCount: 9)
        let leaves = try [x, y].map { try $0.clone().requiresGrad(true) }
        let analytic = try gradients(of: [distance(leaves[0], leaves[1], directions: directions).distance], with: leaves)
        let eps = 1e-6
        for k in 0..<2 {
            let base = try leaves[k].doubles()
            let grad = try #require(analytic[k]).doubles()
            for i in base.indices {
                func value(_ delta: Double) throws -> Double {
                    var v = base
                    v[i] += delta
                    var args = [x, y]
                    args[k] = try Tensor(v, shape: [6, 4])
                    return try distance(args[0], args[1], directions: directions).distance.item()
                }
                let numeric = (try value(eps) - value(-eps)) / (2 * eps)
                #expect(abs(numeric - grad[i]) < 1e-6, "input \(k)[\(i)]: \(grad[i]) vs \(numeric)")
            }
        }
    }

    @Test func optimizedIsNeverBelowReferenceAndUsuallyAbove() throws {
        var improved = 0
        for seed in UInt64(0)..<6 {
            let g = try Generator(seed: seed)
            // high dimension, few samples: random directions are far from the maximum
            let x = try Tensor.randn([32, 512], generator: g)
            let y = try Tensor.randn([32, 512], generator: g) * 1.3
            let directions = try SlicedWasserstein.randomDirections(dimension: 512, count: 50, generator: g)
            let reference = try SlicedWasserstein(mode: .reference)(x, y, directions: directions).distance.item()
            let optimized = try SlicedWasserstein(mode: .optimized)(x, y, directions: directions).distance.item()
            #expect(optimized >= reference - 1e-6, "seed \(seed): optimized \(optimized) < reference \(reference)")
            if optimized > reference * 1.05 { improved += 1 }
        }
        #expect(improved >= 4, "the ascent improved on the best random direction in only \(improved) of 6 cases")
    }

    @Test func channelsLastBatchesAreFlattenedInMemoryOrderWithoutChangingTheLaw() throws {
        let g = try Generator(seed: 11)
        let x = try Tensor.randn([6, 3, 4, 5], generator: g), y = try Tensor.randn([6, 3, 4, 5], generator: g) * 2
        let msw = SlicedWasserstein(mode: .reference, projectionCount: 8)
        // channels-last: the rows are (H, W, C)-ordered, i.e. the NHWC tensor flattened
        let viaLayout = try msw(x.contiguous(.channelsLast), y.contiguous(.channelsLast), generator: Generator(seed: 3)).distance.item()
        let nhwc = { (t: Tensor) in try t.permute([0, 2, 3, 1]).contiguous().reshape([6, -1]) }
        let viaRows = try msw(nhwc(x), nhwc(y), generator: Generator(seed: 3)).distance.item()
        #expect(Swift.abs(viaLayout - viaRows) < 1e-6 * viaRows)
        // the NCHW batches draw the same directions over another coordinate order: another value
        let logical = try msw(x, y, generator: Generator(seed: 3)).distance.item()
        #expect(Swift.abs(logical - viaLayout) > 1e-6)
        // given directions always use the logical order (what POT sees)
        let theta = try SlicedWasserstein.randomDirections(dimension: 60, count: 8, generator: g)
        let a = try msw(x.contiguous(.channelsLast), y.contiguous(.channelsLast), directions: theta).distance.item()
        let b = try msw(x, y, directions: theta).distance.item()
        #expect(Swift.abs(a - b) < 1e-6 * b)
    }

    @Test func takesTheTrueBatchSizeOfAnyShape() throws {
        let g = try Generator(seed: 6)
        // a last, short batch of 3 feature maps [3, 2, 4, 4]
        let x = try Tensor.randn([3, 2, 4, 4], dtype: .float64, generator: g)
        let y = try Tensor.randn([3, 2, 4, 4], dtype: .float64, generator: g)
        let directions = try SlicedWasserstein.randomDirections(dimension: 32, count: 5, dtype: .float64, generator: g)
        let fromMaps = try SlicedWasserstein()(x, y, directions: directions).distance.item()
        let fromRows = try SlicedWasserstein()(x.reshape([3, 32]), y.reshape([3, 32]), directions: directions).distance.item()
        #expect(fromMaps == fromRows)
        #expect(throws: DistanceError.shapeMismatch(x: [3, 2, 4, 4], y: [2, 2, 4, 4])) {
            try SlicedWasserstein()(x, y.narrow(0, start: 0, length: 2), directions: directions)
        }
        #expect(throws: DistanceError.noSamples(shape: [0, 32])) {
            try SlicedWasserstein()(x.reshape([3, 32]).narrow(0, start: 0, length: 0), y.reshape([3, 32]).narrow(0, start: 0, length: 0),
                                    directions: directions)
        }
    }
}
