import Testing
import Torch

/// The fused per-column 1-D transport cost equals sort, gap, power and mean done op by op.
@Suite struct SlicedCostsTests {
    @Test func fusedCostsEqualTheOpByOpComputation() throws {
        let g = try Generator(seed: 4)
        for dtype in [DType.float32, .float64] {
            for p in [1.0, 2.0, 3.0] {
                let a = try (Tensor.randn([37, 9], generator: g) * 3).to(dtype)
                let b = try (Tensor.randn([37, 9], generator: g) + 0.5).to(dtype)
                let gap = try a.sort(dim: 0).values - b.sort(dim: 0).values
                let expected = try gap.abs().pow(p).mean(dims: [0])
                let fused = try Functional.slicedCosts(a, b, p: p)
                #expect(fused.shape == [9] && fused.dtype == dtype)
                let error = try ((fused - expected).abs() / expected.abs()).amax().item()
                #expect(error <= (dtype == .float64 ? 1e-12 : 1e-5), "\(dtype) p = \(p): relative error \(error)")
            }
        }
    }

    @Test func mismatchedShapesAreAnError() throws {
        let a = try Tensor.zeros([4, 3]), b = try Tensor.zeros([4, 2])
        #expect(throws: TorchError.self) { try Functional.slicedCosts(a, b, p: 2) }
        #expect(throws: TorchError.self) { try Functional.slicedCosts(try Tensor.zeros([4]), try Tensor.zeros([4]), p: 2) }
    }
}
