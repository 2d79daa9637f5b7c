import Foundation
import Testing
@testable import NN
@testable import Optim
import Torch

/// Sets p.grad = g by back-propagating sum(p * g).
private func setGrad(_ p: Tensor, _ g: [Float]) throws {
    try p.zeroGrad()
    try (p * Tensor(g, shape: p.shape)).sum().backward()
}

@Suite struct OptimizerTests {
    @Test func sgdNesterovWeightDecayMatchesTheFormula() throws {
        let p = try Tensor([1.0, -2.0, 0.5] as [Float], shape: [3]).requiresGrad(true)
        let sgd = try SGD(parameters: [("w", p)], lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true)
        var w: [Double] = [1.0, -2.0, 0.5]
        var b: [Double] = [0, 0, 0]
        let grads: [[Float]] = [[0.3, -0.1, 0.2], [-0.5, 0.4, 0.1]]
        for (step, g) in grads.enumerated() {
            try setGrad(p, g)
            try sgd.step()
            for i in 0..<3 {
                let d = Double(g[i]) + 0.01 * w[i]
                b[i] = step == 0 ? d : 0.9 * b[i] + d
                w[i] -= 0.1 * (d + 0.9 * b[i])
            }
            let got = try p.floats()
            for i in 0..<3 { #expect(abs(Double(got[i]) - w[i]) < 1e-6) }
        }
        let buffer = try #require(try sgd.momentumBuffer(for: "w")).floats()
        for i in 0..<3 { #expect(abs(Double(buffer[i]) - b[i]) < 1e-6) }
        #expect(throws: NNError.self) { try SGD(lr: 0.1, nesterov: true) }
        #expect(throws: NNError.self) { try SGD(lr: -1) }
        #expect(throws: NNError.self) { try SGD(lr: 0.1).step() }
    }

    @Test func sgdDampeningMatchesTheFormula() throws {
        let p = try Tensor([1.0, 2.0] as [Float], shape: [2]).requiresGrad(true)
        let sgd = try SGD(parameters: [("w", p)], lr: 0.5, momentum: 0.8, dampening: 0.3)
        var w: [Double] = [1, 2], b: [Double] = [0, 0]
        for (step, g) in [[1.0, -1.0], [0.5, 0.25], [-0.2, 0.1]].enumerated() {
            try setGrad(p, g.map(Float.init))
            try sgd.step()
            for i in 0..<2 {
                b[i] = step == 0 ? g[i] : 0.8 * b[i] + 0.7 * g[i]
                w[i] -= 0.5 * b[i]
            }
            let got = try p.floats()
            for i in 0..<2 { #expect(abs(Double(got[i]) - w[i]) < 1e-6) }
        }
    }

    @Test func adamWMatchesTheFormula() throws {
        let p = try Tensor([0.5, -1.5, 2.0] as [Float], shape: [3]).requiresGrad(true)
        let (lr, b1, b2, eps, wd) = (0.01, 0.9, 0.999, 1e-8, 0.1)
        let adam = try AdamW(parameters: [("w", p)], lr: lr, beta1: b1, beta2: b2, eps: eps, weightDecay: wd)
        var w: [Double] = [0.5, -1.5, 2.0], m: [Double] = [0, 0, 0], v: [Double] = [0, 0, 0]
        for (index, g) in [[0.2, -0.3, 1.0], [0.1, 0.4, -0.5]].enumerated() {
            let t = Double(index + 1)
            try setGrad(p, g.map(Float.init))
            try adam.step()
            for i in 0..<3 {
                w[i] *= 1 - lr * wd
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                let mHat = m[i] / (1 - pow(b1, t))
                let vHat = v[i] / (1 - pow(b2, t))
                w[i] -= lr * mHat / (vHat.squareRoot() + eps)
            }
            let got = try p.floats()
            for i in 0..<3 { #expect(abs(Double(got[i]) - w[i]) < 1e-6) }
        }
        #expect(adam.stepCount == 2)
    }

    @Test func optimizerStateRestoresTheTrajectory() throws {
        func run(_ resumeAfter: Int?) throws -> [Float] {
            let p = try Tensor([1, 2, 3, 4] as [Float], shape: [2, 2]).requiresGrad(true)
            var sgd = try SGD(parameters: [("w", p)], lr: 0.1, momentum: 0.9, weightDecay: 1e-3)
            for step in 0..<4 {
                if step == resumeAfter {
                    let saved = try sgd.state()
                    let copy = try p.detach().clone()
                    let q = try copy.requiresGrad(true)
                    let fresh = try SGD(parameters: [("w", q)], lr: 0.5, momentum: 0.9, weightDecay: 1e-3)
                    try fresh.load(state: saved)
                    #expect(fresh.learningRate == 0.1)
                    sgd = fresh
                    return try continueRun(q, sgd, from: step)
                }
                try setGrad(p, [Float(step), 1, -1, 0.5])
                try sgd.step()
            }
            return try p.floats()
        }
        func continueRun(_ p: Tensor, _ sgd: SGD, from start: Int) throws -> [Float] {
            for step in start..<4 {
                try setGrad(p, [Float(step), 1, -1, 0.5])
                try sgd.step()
            }
            return try p.floats()
        }
        let straight = try run(nil)
        #expect(try run(2) == straight)
    }

    @Test func adamWStateRoundTrips() throws {
        func steps(_ adam: AdamW, _ p: Tensor, _ range: Range<Int>) throws {
            for i in range {
                try setGrad(p, [Float(i) * 0.1, -0.2, 0.3])
                try adam.step()
            }
        }
        let p1 = try Tensor([1, 2, 3] as [Float], shape: [3]).requiresGrad(true)
        let a1 = try AdamW(parameters: [("w", p1)], lr: 0.01)
        try steps(a1, p1, 0..<5)
        let p2 = try Tensor([1, 2, 3] as [Float], shape: [3]).requiresGrad(true)
        let a2 = try AdamW(parameters: [("w", p2)], lr: 0.01)
        try steps(a2, p2, 0..<2)
        let saved = try a2.state()
        #expect(saved.tensors.map(\.name) == ["exp_avg.w", "exp_avg_sq.w"])
        let p3 = try p2.detach().clone().requiresGrad(true)
        let a3 = try AdamW(parameters: [("w", p3)], lr: 0.01)
        try a3.load(state: saved)
        #expect(a3.stepCount == 2)
        try steps(a3, p3, 2..<5)
        #expect(try p3.floats() == p1.floats())
        #expect(throws: NNError.self) { try SGD(parameters: [("w", p3)], lr: 0.1).load(state: saved) }
    }

    @Test func attachedOptimizerFollowsModuleChanges() throws {
        let g = try Generator(seed: 1)
        let net = Sequential(try Linear(3, 3, generator: g), ReLU(), try Linear(3, 2, generator: g))
        let sgd = try SGD(lr: 0.1, momentum: 0.9)
        sgd.attach(to: net)
        let x = try Tensor.randn([4, 3], generator: g)
        try net(x).sum().backward()
        try sgd.step()
        let kept = try #require(try sgd.momentumBuffer(for: "2.weight")).floats()
        // Replace the first layer: the optimizer drops its state, keeps the other layer's.
        try net.replace("0", with: try Linear(3, 3, generator: g))
        #expect(try sgd.momentumBuffer(for: "0.weight") == nil)
        #expect(try sgd.momentumBuffer(for: "2.weight")?.floats() == kept)
        try sgd.zeroGrad()
        try net(x).sum().backward()
        let newFirst = try #require(net.module(at: "0") as? Linear)
        let before = try newFirst.weight.floats()
        try sgd.step()
        #expect(try newFirst.weight.floats() != before, "the new layer is optimized")
    }

    @Test func schedulesFollowPyTorchsClosedForms() throws {
        let multi = LRSchedule.multiStep(milestones: [80, 120], gamma: 0.1)
        #expect(multi.learningRate(base: 0.1, at: 0) == 0.1)
        #expect(multi.learningRate(base: 0.1, at: 79) == 0.1)
        #expect(abs(multi.learningRate(base: 0.1, at: 80) - 0.01) < 1e-15)
        #expect(abs(multi.learningRate(base: 0.1, at: 120) - 0.001) < 1e-15)
        let cosine = LRSchedule.cosine(total: 10, minimum: 0.001)
        #expect(cosine.learningRate(base: 0.1, at: 0) == 0.1)
        #expect(abs(cosine.learningRate(base: 0.1, at: 5) - (0.001 + 0.099 / 2)) < 1e-12)
        #expect(abs(cosine.learningRate(base: 0.1, at: 10) - 0.001) < 1e-12)
        #expect(abs(cosine.learningRate(base: 0.1, at: 12) - 0.001) < 1e-12)
        let warm = LRSchedule.linearWarmup(steps: 4, startFactor: 0.25, then: .cosine(total: 8, minimum: 0))
        #expect(abs(warm.learningRate(base: 1, at: 0) - 0.25) < 1e-12)
        #expect(abs(warm.learningRate(base: 1, at: 2) - 0.625) < 1e-12)
        #expect(abs(warm.learningRate(base: 1, at: 4) - 1) < 1e-12)
        #expect(abs(warm.learningRate(base: 1, at: 8) - 0.5) < 1e-12)
        #expect(throws: NNError.self) { try LRSchedule.multiStep(milestones: [5, 2], gamma: 0.1).validate() }

        let sgd = try SGD(lr: 0.1, momentum: 0.9)
        let scheduler = try LRScheduler(multi, optimizer: sgd)
        for _ in 0..<80 { scheduler.step() }
        #expect(abs(sgd.learningRate - 0.01) < 1e-15)
        let state = scheduler.state
        let data = try JSONEncoder().encode(state)
        let decoded = try JSONDecoder().decode(LRScheduler.State.self, from: data)
        let other = try SGD(lr: 0.1)
        let resumed = try LRScheduler(multi, optimizer: other)
        try resumed.load(state: decoded)
        #expect(resumed.position == 80)
        #expect(abs(other.learningRate - 0.01) < 1e-15)
        #expect(throws: NNError.self) { try LRScheduler(.constant, optimizer: other).load(state: decoded) }
    }
}

@Suite struct OptimizerAtomicityTests {
    /// A step whose second parameter has a bad momentum buffer throws before the first one moves.
    @Test func aStepWithABadInputChangesNothing() throws {
        let a = try Tensor([1.0, 2.0] as [Float], shape: [2]).requiresGrad(true)
        let b = try Tensor([3.0, 4.0, 5.0] as [Float], shape: [3]).requiresGrad(true)
        try (a.sum() + b.sum()).backward()
        var buffers: [Tensor?] = [nil, try Tensor.zeros([7])]
        #expect(throws: TorchError.self) {
            try FusedUpdate.sgd(parameters: [a, b], buffers: &buffers, lr: 0.1, momentum: 0.9, dampening: 0,
                                weightDecay: 0, nesterov: false)
        }
        #expect(try a.floats() == [1, 2] && b.floats() == [3, 4, 5])
        #expect(buffers[0] == nil)
        var m: [Tensor?] = [nil, try Tensor.zeros([3], dtype: .float64)], v: [Tensor?] = [nil, nil]
        #expect(throws: TorchError.self) {
            try FusedUpdate.adamW(parameters: [a, b], expAvg: &m, expAvgSq: &v, step: 1, lr: 0.1, beta1: 0.9, beta2: 0.999,
                                  eps: 1e-8, weightDecay: 0)
        }
        #expect(try a.floats() == [1, 2] && b.floats() == [3, 4, 5])
        // the same step with good inputs moves both
        buffers = [nil, nil]
        try FusedUpdate.sgd(parameters: [a, b], buffers: &buffers, lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false)
        #expect(try a.floats() == [0.9, 1.9])
    }
}
