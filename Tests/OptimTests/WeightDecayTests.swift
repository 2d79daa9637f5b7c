import Foundation
import Testing
@testable import NN
@testable import Optim
import Torch

@Suite struct WeightDecayTests {
    /// Under the `weights` scope a bias, a norm's scale and a position table take no decay
    /// while a weight matrix does: with zero gradients only the matrix moves, by exactly lr·wd·w.
    @Test func weightsScopeSparesBiasesNormsAndEmbeddings() throws {
        let matrix = try Tensor([1, -2, 3, 4] as [Float], shape: [2, 2]).requiresGrad(true)
        let bias = try Tensor([0.5, -0.5] as [Float], shape: [2]).requiresGrad(true)
        let table = try Tensor([1, 1, 1, 1] as [Float], shape: [1, 2, 2]).requiresGrad(true)
        let named: [NamedTensor] = [("fc.weight", matrix), ("fc.bias", bias), ("encoder.pos_embedding", table)]
        for kind in ["sgd", "adamw"] {
            let before = try named.map { try $0.tensor.floats() }
            let optimizer: any Optimizer
            if kind == "sgd" {
                let sgd = try SGD(parameters: named, lr: 0.1, weightDecay: 0.5)
                sgd.weightDecayScope = .weights
                optimizer = sgd
            } else {
                let adamW = try AdamW(parameters: named, lr: 0.1, weightDecay: 0.5)
                adamW.weightDecayScope = .weights
                optimizer = adamW
            }
            for (_, t) in named { try (t * 0).sum().backward() }   // zero gradients, present
            try optimizer.step()
            let after = try named.map { try $0.tensor.floats() }
            // SGD: p − lr·wd·p; AdamW: p·(1 − lr·wd) (the Adam step of a zero gradient is zero).
            for (b, a) in zip(before[0], after[0]) { #expect(abs(Double(a) - Double(b) * 0.95) < 1e-6, "\(kind)") }
            #expect(after[1] == before[1], "\(kind): the bias decayed")
            #expect(after[2] == before[2], "\(kind): the position table decayed")
            try optimizer.zeroGrad()
        }
        #expect(WeightDecayScope.all.decays("fc.bias", bias))
        #expect(!WeightDecayScope.weights.decays("features.1.0.attn.relative_position_bias_table", matrix))
    }

    /// Clipping scales every gradient by maxNorm / (norm + 1e-6) when the global norm exceeds
    /// maxNorm, and leaves them alone otherwise.
    @Test func clippingScalesTheGlobalNorm() throws {
        let a = try Tensor([0, 0] as [Float], shape: [2]).requiresGrad(true)
        let b = try Tensor([0] as [Float], shape: [1]).requiresGrad(true)
        try ((a * Tensor([3, 0] as [Float], shape: [2])).sum() + (b * 4).sum()).backward()   // grads (3, 0), (4): norm 5
        let norm = try GradientClipping.clip([a, b], maxNorm: 1)
        #expect(abs(norm - 5) < 1e-6)
        let ga = try #require(try a.grad).floats(), gb = try #require(try b.grad).floats()
        #expect(abs(Double(ga[0]) - 3 / (5 + 1e-6)) < 1e-6 && abs(Double(gb[0]) - 4 / (5 + 1e-6)) < 1e-6)
        let unchanged = try GradientClipping.clip([a, b], maxNorm: 10)
        #expect(abs(unchanged - 1) < 1e-5)
        #expect(try #require(try a.grad).floats() == ga)
    }

    /// Adam (coupled decay) adds wd·p to the gradient before the moments: on its first step
    /// the update is lr·sign(g + wd·p) (m̂/√v̂ = ±1); a learning-rate factor scales one group.
    @Test func adamsL2PenaltyAndLearningRateFactors() throws {
        let a = try Tensor([1, -2] as [Float], shape: [2]).requiresGrad(true)
        let b = try Tensor([3] as [Float], shape: [1]).requiresGrad(true)
        let adam = try AdamW(parameters: [("w", a), ("head.w", b)], lr: 0.1, eps: 0, weightDecay: 1)
        adam.decoupledWeightDecay = false
        adam.learningRateFactor = { $0.hasPrefix("head.") ? 10 : 1 }
        try ((a * Tensor([-0.5, 0.5] as [Float], shape: [2])).sum() + (b * 0).sum()).backward()
        try adam.step()
        // g + wd·p = (0.5, -1.5) and (3): signs +, −, + → p − lr·factor·sign
        let got = try a.floats() + b.floats()
        let want: [Float] = [1 - 0.1, -2 + 0.1, 3 - 1.0]
        for (x, y) in zip(got, want) { #expect(abs(x - y) < 1e-5, "\(got) vs \(want)") }
    }
}
