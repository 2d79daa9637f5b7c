import Testing
@testable import Torch

/// softmax(q kᵀ / √E + mask) v with elementary ops: what the fused kernel must equal.
private func referenceAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, additiveMask: Tensor? = nil) throws -> Tensor {
    let e = Double(q.shape.last ?? 1)
    var scores = try q.matmul(k.transpose(-2, -1)) / e.squareRoot()
    if let additiveMask { scores = try scores + additiveMask }
    return try Functional.softmax(scores, dim: -1).matmul(v)
}

private func maxAbsDifference(_ a: Tensor, _ b: Tensor) throws -> Double {
    try (a - b).abs().amax().item()
}

@Suite struct AttentionTests {
    @Test func scaledDotProductAttentionIsTheSoftmaxFormula() throws {
        // batch 2, 3 heads, 4 queries over 6 keys, key dim 5, value dim 7 (float64).
        let q = try random([2, 3, 4, 5], seed: 21)
        let k = try random([2, 3, 6, 5], seed: 22)
        let v = try random([2, 3, 6, 7], seed: 23)
        let fused = try Functional.scaledDotProductAttention(query: q, key: k, value: v)
        #expect(fused.shape == [2, 3, 4, 7])
        #expect(try maxAbsDifference(fused, referenceAttention(q, k, v)) < 1e-12)

        // A floating mask is added to the scores (broadcast over batch and heads).
        let bias = try random([4, 6], seed: 24)
        let withBias = try Functional.scaledDotProductAttention(query: q, key: k, value: v, mask: bias)
        #expect(try maxAbsDifference(withBias, referenceAttention(q, k, v, additiveMask: bias)) < 1e-12)

        // A bool mask keeps the keys marked true: the same as adding -inf elsewhere.
        let keep = try random([4, 6], seed: 25).gt(-0.5)
        let allowedSomewhere = try keep.to(.float64).sum(dims: [1]).amin().item()
        try #require(allowedSomewhere > 0, "each query must keep a key for the test to be meaningful")
        let masked = try Functional.scaledDotProductAttention(query: q, key: k, value: v, mask: keep)
        let additive = try Tensor.where(keep, Tensor.zeros([4, 6], dtype: .float64),
                                        Tensor.full([4, 6], -Double.infinity, dtype: .float64))
        #expect(try maxAbsDifference(masked, referenceAttention(q, k, v, additiveMask: additive)) < 1e-12)
        #expect(try maxAbsDifference(masked, fused) > 1e-3, "the mask changes the result")

        // Dropout outside [0, 1) is libtorch's error, thrown.
        #expect(throws: TorchError.self) {
            try Functional.scaledDotProductAttention(query: q, key: k, value: v, dropout: 1)
        }
    }

    @Test func scaledDotProductAttentionGradients() throws {
        let q = try random([1, 2, 3, 4], seed: 26)
        let k = try random([1, 2, 5, 4], seed: 27)
        let v = try random([1, 2, 5, 3], seed: 28)
        let bias = try random([3, 5], seed: 29)
        try expectGradientsMatch([q, k, v, bias]) { a in
            try weightedSum(Functional.scaledDotProductAttention(query: a[0], key: a[1], value: a[2], mask: a[3]))
        }
    }

    @Test func inverseErrorFunction() throws {
        let x = try Tensor([0, 0.5, -0.9, 0.999] as [Double], shape: [4])
        let expected = [0, 0.476_936_276_204_469_9, -1.163_087_153_676_674_3, 2.326_753_765_513_524_7]
        for (got, want) in zip(try x.erfinv().doubles(), expected) {
            #expect(Swift.abs(got - want) < 1e-12, "erfinv: \(got) vs \(want)")
        }
    }
}
