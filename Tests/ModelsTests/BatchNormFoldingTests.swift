import Testing
@testable import Models
import NN
import TestSupport
import Torch

/// Folding evaluation-mode BatchNorms into the convolutions before them: the same function,
/// no norm left where the pattern holds, and none touched where it does not.
@Suite struct BatchNormFoldingTests {
    @Test func foldedModelsComputeTheSameLogitsWithoutAnyBatchNorm() throws {
        let families = try ResidualScaleTests().cases().filter { !($0.model is VisionTransformer || $0.model is SwinTransformer) }
        #expect(families.count == 3)
        for (index, (model, shape, block)) in families.enumerated() {
            try randomize(model, seed: UInt64(index))
            let folded = try ResidualScaleTests.copy(model)
            try model.collapse(block)
            model.eval()
            let x = try Tensor.randn([3] + shape.dropFirst(), generator: Generator(seed: 9))
            let expected = try withNoGrad { try model(x) }
            let norms = model.namedModules().filter { $0.module is BatchNorm2d }.map(\.name)
            try folded.collapse(block)
            folded.eval()
            let foldedNorms = try folded.foldBatchNorms(sampleInput: x.narrow(0, start: 0, length: 1))
            let label = model.architecture.label
            #expect(Set(foldedNorms) == Set(norms), "\(label): every norm follows a convolution read by nothing else")
            #expect(!folded.namedModules().contains { $0.module is BatchNorm2d }, "\(label)")
            let got = try withNoGrad { try folded(x) }
            let scale = try expected.abs().amax().item()
            #expect(scale > 0.1, "\(label): logits near zero prove nothing")
            #expect(try (got - expected).abs().amax().item() <= 1e-5 * max(scale, 1), "\(label)")
        }
    }

    /// A convolution whose output is also read by the residual, and a norm in a slot typed
    /// `BatchNorm2d`, are left as they are; training mode is refused.
    @Test func foldsOnlyWhereTheNormAloneReadsTheConvolutionAndTheSlotTakesAnIdentity() throws {
        let model = try SharedOutput(seed: 2)
        try randomize(model, seed: 3)
        model.eval()
        let x = try Tensor.randn([2, 2, 6, 6], generator: Generator(seed: 1))
        let expected = try withNoGrad { try model(x) }
        let folded = try model.foldBatchNorms(sampleInput: x)
        #expect(folded == ["bn2"])
        #expect(model.bn1.module is BatchNorm2d && model.fixed.module is BatchNorm2d && model.bn2.module is Identity)
        #expect(model.conv2.module.hasBias && !model.conv1.module.hasBias)
        #expect(try (withNoGrad { try model(x) } - expected).abs().amax().item() <= 1e-5)

        model.train()
        #expect(throws: ModuleError.self) { try model.foldBatchNorms(sampleInput: x) }
    }

    /// conv1's output feeds bn1 and the sum; conv3 feeds a norm in a `Child<BatchNorm2d>` slot;
    /// conv2 → bn2 is the one foldable pair.
    final class SharedOutput: Module {
        let conv1: Child<Conv2d>, bn1: Child<Module>
        let conv2: Child<Conv2d>, bn2: Child<Module>
        let conv3: Child<Conv2d>, fixed: Child<BatchNorm2d>

        init(seed: UInt64) throws {
            let g = try Generator(seed: seed)
            conv1 = Child("conv1", try Conv2d(2, 2, kernelSize: 3, padding: 1, bias: false, generator: g))
            bn1 = Child("bn1", try BatchNorm2d(2))
            conv2 = Child("conv2", try Conv2d(2, 2, kernelSize: 3, padding: 1, bias: false, generator: g))
            bn2 = Child("bn2", try BatchNorm2d(2))
            conv3 = Child("conv3", try Conv2d(2, 2, kernelSize: 1, generator: g))
            fixed = Child("fixed", try BatchNorm2d(2))
            super.init()
            try register(conv1, bn1, conv2, bn2, conv3, fixed)
        }

        override func forward(_ x: Tensor) throws -> Tensor {
            let c1 = try conv1(x)
            let h = try bn1(c1) + c1
            return try fixed(conv3(bn2(conv2(h))))
        }
    }
}
