import Costs
import Testing
@testable import NN
import Torch

@Suite struct SwinLayerTests {
    /// 2×2 neighbourhoods in torchvision's channel order, odd sizes zero-padded.
    @Test func patchMergingConcatenatesNeighbourhoods() throws {
        let (h, w, c) = (3, 5, 2)
        var values: [Float] = []
        for y in 0..<h { for x in 0..<w { for k in 0..<c { values.append(Float(100 * (y + 1) + 10 * (x + 1) + k)) } } }
        let input = try Tensor(values, shape: [1, h, w, c])
        let merged = try PatchMerging.merge(input)
        #expect(merged.shape == [1, 2, 3, 4 * c])
        func value(_ y: Int, _ x: Int, _ k: Int) -> Float { y < h && x < w ? Float(100 * (y + 1) + 10 * (x + 1) + k) : 0 }
        var expected: [Float] = []
        for i in 0..<2 {
            for j in 0..<3 {
                for (dy, dx) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    for k in 0..<c { expected.append(value(2 * i + dy, 2 * j + dx, k)) }
                }
            }
        }
        #expect(try merged.floats() == expected)

        let layer = try PatchMerging(dim: c, generator: Generator(seed: 1))
        #expect(layer.stateDict().map(\.name) == ["reduction.weight", "norm.weight", "norm.bias"])
        let y = try layer(input)
        #expect(y.shape == [1, 2, 3, 2 * c])
        let manual = try layer.reduction.module(layer.norm.module(merged))
        #expect(try y.floats() == manual.floats())
        let cost = try CostModel.analyze(layer, input: [h, w, c])
        #expect(cost.outputShape == [1, 2, 3, 4])
        #expect(cost.macs == 2 * 3 * 8 * 4)
    }

    @Test func stochasticDepthDropsWholeSamples() throws {
        let x = try Tensor.ones([64, 3, 2])
        let layer = try StochasticDepth(p: 0.25, generator: Generator(seed: 2))
        let y = try layer(x).floats()
        // Each sample is all zero or all 1 / 0.75.
        var kept = 0
        for n in 0..<64 {
            let row = Set(y[(n * 6)..<(n * 6 + 6)])
            #expect(row == [0] || row == [Float(1 / 0.75)], "sample \(n): \(row)")
            if row != [0] { kept += 1 }
        }
        #expect(kept > 32 && kept < 64)
        // The same seed gives the same masks; evaluation mode and p = 0 are the identity.
        #expect(try StochasticDepth(p: 0.25, generator: Generator(seed: 2))(x).floats() == y)
        layer.eval()
        #expect(try layer(x).floats() == x.floats())
        #expect(try StochasticDepth(p: 0, generator: nil)(x).floats() == x.floats())
        #expect(try StochasticDepth(p: 1, generator: Generator(seed: 3))(x).floats().allSatisfy { $0 == 0 })
        // Batch mode drops all samples together.
        let batch = try Set(StochasticDepth(p: 0.5, mode: .batch, generator: Generator(seed: 4))(x).floats())
        #expect(batch == [0] || batch == [2])
        #expect(throws: ModuleError.self) { try StochasticDepth(p: 1.5, generator: nil) }
    }

    /// Window attention's bookkeeping (its outputs are checked against torchvision in
    /// ParityTests): the bias index, the shift mask's regions and the cost on the padded map.
    @Test func windowAttentionIndexMaskAndCost() throws {
        // 2×2 window: offsets (dy, dx) ∈ {-1, 0, 1}² → rows 0…8 of a 3×3 table, row-major.
        #expect(ShiftedWindowAttention.relativeIndex((2, 2)) == [4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4])
        // A 4×4 map, window 2, shift 1: the last window mixes four regions, the first one none.
        let mask = ShiftedWindowAttention.shiftMask(height: 4, width: 4, window: (2, 2), shift: (1, 1))
        #expect(mask.count == 4 * 4 * 4)
        #expect(mask.prefix(16).allSatisfy { $0 == 0 })
        #expect(Array(mask.suffix(16)) == [0, -100, -100, -100, -100, 0, -100, -100, -100, -100, 0, -100, -100, -100, -100, 0])
        let layer = try ShiftedWindowAttention(dim: 16, window: (4, 4), shift: (2, 2), headCount: 2, generator: Generator(seed: 5))
        let cost = try CostModel.analyze(layer, input: [6, 7, 16])
        #expect(cost.outputShape == [1, 6, 7, 16])
        let tokens = 8 * 8
        #expect(cost.macs == tokens * 16 * 48 + 2 * tokens * 16 * 16 + tokens * 16 * 16)
        #expect(cost.layers.reduce(0) { $0 + $1.parameters } == layer.parameterCount)
        let y = try layer(Tensor.randn([2, 6, 7, 16], generator: Generator(seed: 6)))
        #expect(y.shape == [2, 6, 7, 16])
    }
}
