import Costs
import Foundation
import Testing
@testable import NN
import Torch

/// A small composite module: conv → BN → ReLU → (head: flatten → linear), with typed children.
final class TinyNet: Module {
    let conv: Child<Conv2d>
    let bn: Child<Module>
    let act: Child<Module>
    let head: Child<Sequential>

    init(generator: Generator) throws {
        conv = Child("conv", try Conv2d(2, 4, kernelSize: 3, padding: 1, generator: generator))
        bn = Child("bn", try BatchNorm2d(4))
        act = Child("act", ReLU())
        head = Child("head", Sequential(Flatten(), try Linear(4 * 5 * 5, 3, generator: generator)))
        super.init()
        try register(conv, bn, act, head)
    }

    override func forward(_ x: Tensor) throws -> Tensor {
        try head(act(bn(conv(x))))
    }
}

@Suite struct ModuleTests {
    @Test func namesFollowPyTorch() throws {
        let net = try TinyNet(generator: Generator(seed: 1))
        #expect(net.namedParameters().map(\.name) == ["conv.weight", "conv.bias", "bn.weight", "bn.bias",
                                                      "head.1.weight", "head.1.bias"])
        #expect(net.stateDict().map(\.name) == ["conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean",
                                                "bn.running_var", "bn.num_batches_tracked", "head.1.weight", "head.1.bias"])
        #expect(net.namedBuffers().map(\.name) == ["bn.running_mean", "bn.running_var", "bn.num_batches_tracked"])
        #expect(net.parameterCount == 2 * 4 * 9 + 4 + 4 + 4 + 100 * 3 + 3)
        #expect(net.namedModules().map(\.name) == ["", "conv", "bn", "act", "head", "head.0", "head.1"])
        #expect(net.module(at: "head.1") is Linear)
        #expect(net.module(at: "head.2") == nil)
        #expect(net.namedParameters().allSatisfy { $0.tensor.requiresGrad })
        #expect(net.stateDict()[6].tensor.dtype == .int64)
        #expect(net.description.contains("(conv): Conv2d(2, 4"))
    }

    @Test func registrationRejectsBadNames() throws {
        let m = Module()
        try m.registerModule("a", Identity())
        #expect(throws: ModuleError.duplicateKey(owner: "Module", key: "a")) { try m.registerModule("a", Identity()) }
        #expect(throws: ModuleError.invalidKey(owner: "Module", key: "x.y")) {
            try m.registerParameter("x.y", Tensor.zeros([1]))
        }
        #expect(throws: ModuleError.invalidKey(owner: "Module", key: "")) { try m.registerBuffer("", Tensor.zeros([1])) }
        #expect(throws: ModuleError.forwardNotImplemented(type: "Module")) { try m.forward(Tensor.zeros([1])) }
    }

    @Test func modePropagatesAndReplaceKeepsOtherKeys() throws {
        let net = try TinyNet(generator: Generator(seed: 2))
        net.eval()
        #expect(net.namedModules().allSatisfy { !$0.module.isTraining })
        let before = net.stateDict().map(\.name)
        let old = try net.replace("bn", with: Identity())
        #expect(old is BatchNorm2d)
        #expect(net.stateDict().map(\.name) == before.filter { !$0.hasPrefix("bn.") })
        let fresh = ReLU()
        try net.replace("head.0", with: fresh)
        #expect(!fresh.isTraining, "a replacement takes the tree's mode")
        #expect(throws: ModuleError.self) { try net.replace("nothing.here", with: Identity()) }
        #expect(throws: ModuleError.emptyPath) { try net.replace("", with: Identity()) }
        net.train()
        #expect(net.namedModules().allSatisfy { $0.module.isTraining })
    }

    @Test func replacedChildTakesEffectInForward() throws {
        let g = try Generator(seed: 3)
        let net = try TinyNet(generator: g)
        net.eval()
        let x = try Tensor.randn([2, 2, 5, 5], generator: g)
        // Eval-mode BN with fresh statistics is (x - 0) / sqrt(1 + eps) * 1 + 0: replacing it
        // with the identity changes the output by that factor only before the ReLU.
        let y1 = try net(x).floats()
        try net.replace("bn", with: Identity())
        let y2 = try net(x).floats()
        #expect(y1 != y2)
        let conv = try #require(net.module(at: "conv"))
        let head = try #require(net.module(at: "head"))
        let manual = try head(conv(x).relu()).floats()
        #expect(manual == y2)
    }

    @Test func defaultInitializationBounds() throws {
        let g = try Generator(seed: 4)
        let conv = try Conv2d(6, 8, kernelSize: 3, groups: 2, generator: g)
        let bound = Float(1 / (3.0 * 9).squareRoot())  // fan_in = 6/2 · 3 · 3
        let w = try conv.weight.floats()
        #expect(w.allSatisfy { abs($0) <= bound })
        #expect(w.map { abs($0) }.max()! > 0.9 * bound)
        #expect(try conv.bias!.floats().allSatisfy { abs($0) <= bound })
        #expect(conv.weight.shape == [8, 3, 3, 3])
        let linear = try Linear(16, 4, generator: g)
        #expect(try linear.weight.floats().allSatisfy { abs($0) <= 0.25 })
        let bn = try BatchNorm2d(3)
        #expect(try bn.weight!.floats() == [1, 1, 1])
        #expect(try bn.runningVar!.floats() == [1, 1, 1])
        // Same seed, same weights.
        let again = try Conv2d(6, 8, kernelSize: 3, groups: 2, generator: Generator(seed: 4))
        #expect(try again.weight.floats() == w)
    }

    @Test func batchNormStatisticsMoveOnlyInTraining() throws {
        let g = try Generator(seed: 5)
        let bn = try BatchNorm2d(2)
        let x = try Tensor.randn([4, 2, 3, 3], generator: g) * 2 + 1
        _ = try bn(x)
        let mean = try x.mean(dims: [0, 2, 3]).floats()
        let unbiasedVar = try (x.variance(dims: [0, 2, 3]) * (36.0 / 35.0)).floats()
        let rm = try bn.runningMean!.floats()
        let rv = try bn.runningVar!.floats()
        for c in 0..<2 {
            #expect(abs(rm[c] - 0.1 * mean[c]) < 1e-5)
            #expect(abs(rv[c] - (0.9 + 0.1 * unbiasedVar[c])) < 1e-5)
        }
        #expect(try bn.batchesTracked!.item() == 1)
        bn.eval()
        let e1 = try bn(x).floats()
        let e2 = try bn(x).floats()
        #expect(e1 == e2)
        #expect(try bn.runningMean!.floats() == rm)
        #expect(try bn.batchesTracked!.item() == 1)
        // Cumulative average when momentum is nil.
        let cumulative = try BatchNorm2d(2, momentum: nil)
        _ = try cumulative(x)
        #expect(abs(try cumulative.runningMean!.floats()[0] - mean[0]) < 1e-5)
    }

    @Test func remainingLayersComputeWhatPyTorchDoes() throws {
        let x = try Tensor([1, 2, 3, 4, -1, 0, 1, 2] as [Float], shape: [2, 4])
        let ln = try LayerNorm([4])
        let y = try ln(x).floats()
        // Row 1: mean 2.5, population variance 1.25.
        let expected = [1, 2, 3, 4].map { Float((Double($0) - 2.5) / (1.25 + 1e-5).squareRoot()) }
        for i in 0..<4 { #expect(abs(y[i] - expected[i]) < 1e-6) }
        #expect(ln.namedParameters().map(\.name) == ["weight", "bias"])
        let gelu = try GELU()(Tensor([1.0] as [Float], shape: [1])).floats()[0]
        #expect(abs(gelu - 0.8413447) < 1e-6)   // x Φ(x) at 1
        #expect(try ReLU6()(Tensor([-1, 3, 9] as [Float], shape: [3])).floats() == [0, 3, 6])
        let image = try Tensor((0..<16).map(Float.init), shape: [1, 1, 4, 4])
        #expect(try AvgPool2d(kernelSize: 2)(image).floats() == [2.5, 4.5, 10.5, 12.5])
        #expect(try MaxPool2d(kernelSize: 2)(image).floats() == [5, 7, 13, 15])
        #expect(try AdaptiveAvgPool2d()(image).floats() == [7.5])
        #expect(try Flatten()(image).shape == [1, 16])
        let seq = Sequential(Flatten(), try Linear(16, 2, generator: nil))
        #expect(try CostModel.analyze(seq, input: [1, 4, 4]).outputShape == [1, 2])
        #expect(try CostModel.analyze(AvgPool2d(kernelSize: 3, stride: 2, ceilMode: true), input: [1, 6, 6]).outputShape == [1, 1, 3, 3])
        #expect(try AvgPool2d(kernelSize: 3, stride: 2, ceilMode: true)(Tensor.zeros([1, 1, 6, 6])).shape == [1, 1, 3, 3])
    }

    @Test func dropoutIsSeededAndOffInEval() throws {
        let x = try Tensor.ones([1000])
        let d1 = try Dropout(p: 0.3, generator: Generator(seed: 9))
        let d2 = try Dropout(p: 0.3, generator: Generator(seed: 9))
        let a = try d1(x).floats()
        #expect(a == (try d2(x).floats()))
        let kept = a.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 1 / 0.7) < 1e-5 })
        #expect(kept.count > 600 && kept.count < 800)
        d1.eval()
        #expect(try d1(x).floats() == (try x.floats()))
        #expect(throws: ModuleError.self) { try Dropout(p: 1.5, generator: nil) }
    }

    @Test func loadStateDictReportsByName() throws {
        let a = try TinyNet(generator: Generator(seed: 6))
        let b = try TinyNet(generator: Generator(seed: 7))
        try b.load(stateDict: a.stateDict())
        for ((k1, t1), (k2, t2)) in zip(a.stateDict(), b.stateDict()) {
            #expect(k1 == k2)
            #expect(try t1.floats() == t2.floats())
        }
        var dict = Dictionary(uniqueKeysWithValues: a.stateDict().map { ($0.name, $0.tensor) })
        dict["conv.bias"] = nil
        dict["extra.weight"] = try Tensor.zeros([2])
        dict["head.1.bias"] = try Tensor.zeros([5])
        do {
            try b.load(stateDict: dict)
            Issue.record("strict load should fail")
        } catch let error as StateDictError {
            #expect(error.report.missing == ["conv.bias"])
            #expect(error.report.unexpected == ["extra.weight"])
            #expect(error.report.shapeMismatched.map(\.key) == ["head.1.bias"])
            #expect(error.description.contains("conv.bias") && error.description.contains("head.1.bias"))
        }
        let fresh = try TinyNet(generator: Generator(seed: 8))
        let oldBias = try fresh.namedParameters().first { $0.name == "head.1.bias" }!.tensor.floats()
        let report = try fresh.load(stateDict: dict, strict: false)
        #expect(report.loaded == 7)
        #expect(try fresh.namedParameters().first { $0.name == "head.1.bias" }!.tensor.floats() == oldBias)
        #expect(try fresh.namedParameters()[0].tensor.floats() == (try a.namedParameters()[0].tensor.floats()))
        #expect(fresh.namedParameters()[0].tensor.requiresGrad, "loading keeps leaf parameters")
    }

    @Test func channelsLastKeepsLeavesAndValues() throws {
        let g = try Generator(seed: 10)
        let net = try TinyNet(generator: g)
        net.eval()
        let x = try Tensor.randn([2, 2, 5, 5], generator: g)
        let y = try net(x).floats()
        try net.setMemoryFormat(.channelsLast)
        let w = try #require(net.namedParameters().first { $0.name == "conv.weight" }?.tensor)
        #expect(w.isContiguous(.channelsLast))
        #expect(w.requiresGrad)
        #expect(net.module(at: "conv")!.memoryFormat == .channelsLast)
        let y2 = try net(x.contiguous(.channelsLast)).floats()
        for (a, b) in zip(y, y2) { #expect(abs(a - b) < 1e-5) }
        // Gradients reach the converted leaves.
        net.train()
        try net(x.contiguous(.channelsLast)).sum().backward()
        #expect(try w.grad != nil)
    }

    @Test func costModelCountsConvLinearAndTheRest() throws {
        let net = try TinyNet(generator: Generator(seed: 11))
        let aten = try CostModel.analyze(net, input: [2, 5, 5])
        // conv: 25 positions · 4 out · 2 in · 9; linear: 100 · 3.
        #expect(aten.macs == 25 * 4 * 2 * 9 + 100 * 3)
        #expect(aten.outputShape == [1, 3])
        #expect(aten.parameters == net.parameterCount)
        let modules = try CostModel.analyze(net, input: [2, 5, 5], convention: .ptflopsModules)
        // + conv bias 100, BN 2·100, ReLU 100, linear bias 3.
        #expect(modules.macs == aten.macs + 100 + 200 + 100 + 3)
        #expect(modules.layers.map(\.name) == ["conv", "bn", "act", "head.1"])
        #expect(aten.moduleInputShapes["head.1"] == [1, 100])
        #expect(throws: ModuleError.inputShape(layer: "Conv2d", path: "conv", expected: "2 input channels", found: [1, 3, 5, 5])) {
            try CostModel.analyze(net, input: [3, 5, 5])
        }
        let pool = try CostModel.analyze(MaxPool2d(kernelSize: 3, stride: 2, padding: 1), input: [1, 7, 7])
        #expect(pool.outputShape == [1, 1, 4, 4])
    }
}

/// The shim's NCHW route for strided 1×1 convolutions with few input channels (an engine bug on
/// an AVX2-only AMD EPYC) gives the channels-last layout's values and layout.
@Suite struct StridedPointwiseConvolutionTests {
    @Test func channelsLastStridedPointwiseConvolutionMatchesNCHW() throws {
        let g = try Generator(seed: 4)
        let x = try Tensor.randn([8, 4, 16, 16], generator: g)
        let conv = try Conv2d(4, 8, kernelSize: 1, stride: 2, bias: false, generator: g)
        let expected = try conv(x).floats()
        try conv.setMemoryFormat(.channelsLast)
        let y = try conv(x.contiguous(.channelsLast))
        #expect(y.isContiguous(.channelsLast))
        #expect(y.shape == [8, 8, 8, 8])
        let worst = zip(try y.contiguous().floats(), expected).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-5, "max |Δ| \(worst)")
    }
}
