import Testing
@testable import Torch

/// Random float64 tensor from a fixed seed.
func random(_ shape: [Int], seed: UInt64) throws -> Tensor {
    try Tensor.randn(shape, dtype: .float64, generator: Generator(seed: seed))
}

/// A smooth scalar readout so every output element influences the loss differently.
func weightedSum(_ y: Tensor, seed: UInt64 = 99) throws -> Tensor {
    try (y * random(y.shape, seed: seed)).sum()
}

@Suite struct GradientTests {
    @Test func conv2dWithStridePaddingAndGroups() throws {
        let x = try random([2, 4, 5, 5], seed: 1)
        let w = try random([6, 2, 3, 3], seed: 2)   // groups = 2: 4 input channels → 2 per group
        let b = try random([6], seed: 3)
        try expectGradientsMatch([x, w, b]) { a in
            try weightedSum(Functional.conv2d(a[0], weight: a[1], bias: a[2], stride: (2, 1),
                                              padding: (1, 2), groups: 2))
        }
    }

    @Test func batchNormInTrainingMode() throws {
        let x = try random([4, 3, 2, 2], seed: 4)
        let gamma = try random([3], seed: 5)
        let beta = try random([3], seed: 6)
        try expectGradientsMatch([x, gamma, beta]) { a in
            try weightedSum(Functional.batchNorm(a[0], weight: a[1], bias: a[2], runningMean: nil,
                                                 runningVar: nil, training: true))
        }
    }

    @Test func batchNormMovesRunningStatisticsLikePyTorch() throws {
        let x = try Tensor([1, 2, 3, 4] as [Double], shape: [4, 1, 1, 1])
        let mean = try Tensor.zeros([1], dtype: .float64)
        let variance = try Tensor.ones([1], dtype: .float64)
        _ = try Functional.batchNorm(x, weight: nil, bias: nil, runningMean: mean, runningVar: variance,
                                     training: true, momentum: 0.1)
        // batch mean 2.5, unbiased variance 5/3
        #expect(Swift.abs(try mean.item() - 0.25) < 1e-12)
        #expect(Swift.abs(try variance.item() - (0.9 + 0.1 * 5.0 / 3.0)) < 1e-12)
    }

    @Test func linear() throws {
        let x = try random([3, 4], seed: 7)
        let w = try random([5, 4], seed: 8)
        let b = try random([5], seed: 9)
        try expectGradientsMatch([x, w, b]) { a in
            try weightedSum(Functional.linear(a[0], weight: a[1], bias: a[2]))
        }
    }

    @Test func crossEntropyWithLabelSmoothing() throws {
        let logits = try random([4, 5], seed: 10)
        let target = try Tensor([0, 3, 4, 1] as [Int64], shape: [4])
        try expectGradientsMatch([logits]) { a in
            try Functional.crossEntropy(a[0], target: target, labelSmoothing: 0.1)
        }
        // value against the formula: mean over samples of -log softmax at the label
        let plain = try Functional.crossEntropy(logits, target: target).item()
        let logp = try Functional.logSoftmax(logits, dim: 1).doubles()
        let expected = -(logp[0] + logp[5 + 3] + logp[10 + 4] + logp[15 + 1]) / 4
        #expect(Swift.abs(plain - expected) < 1e-12)
    }

    /// Squared 1-D Wasserstein-2 between two equal-size batches: mean of squared differences
    /// of the sorted samples.
    @Test func sortBasedWasserstein() throws {
        let x = try random([7], seed: 11)
        let y = try random([7], seed: 12)
        try expectGradientsMatch([x, y]) { a in
            let sx = try a[0].sort(dim: 0).values
            let sy = try a[1].sort(dim: 0).values
            return try (sx - sy).square().mean()
        }
        // value against sorting in Swift
        let xs = try x.doubles().sorted(), ys = try y.doubles().sorted()
        let expected = zip(xs, ys).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 7
        let value = try (x.sort(dim: 0).values - y.sort(dim: 0).values).square().mean().item()
        #expect(Swift.abs(value - expected) < 1e-12)
    }
}
