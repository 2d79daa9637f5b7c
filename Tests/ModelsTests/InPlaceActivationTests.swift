import Testing
@testable import Models
import NN
import TestSupport
import Torch

/// The ResNets' and MobileNetV2's in-place ReLU / ReLU6 (as torchvision's): the same outputs
/// and the same gradients as the out-of-place activations, in training mode with autograd.
@Suite struct InPlaceActivationTests {
    @Test func inPlaceActivationsGiveTheSameLossAndGradients() throws {
        let families = try ResidualScaleTests().cases().filter { !($0.model is VisionTransformer || $0.model is SwinTransformer) }
        for (index, (model, shape, _)) in families.enumerated() {
            try randomize(model, seed: UInt64(index))
            let outOfPlace = try ResidualScaleTests.copy(model)
            var replaced = 0
            for (path, module) in outOfPlace.namedModules() {
                if let relu = module as? ReLU, relu.inplace { _ = try outOfPlace.replace(path, with: ReLU()); replaced += 1 }
                if let relu6 = module as? ReLU6, relu6.inplace { _ = try outOfPlace.replace(path, with: ReLU6()); replaced += 1 }
            }
            let label = model.architecture.label
            if model is MobileNetV2 {  // the classifier's dropout draws differently in the two copies
                for network in [model, outOfPlace] { _ = try network.replace("classifier.0", with: Identity()) }
            }
            #expect(replaced > 0, "\(label) has no in-place activation")
            let x = try Tensor.randn(shape, generator: Generator(seed: 7))
            var losses: [Double] = [], gradients: [[Tensor]] = []
            for network in [model, outOfPlace] {
                network.train()
                let loss = try network(x).square().mean()
                try loss.backward()
                losses.append(try loss.item())
                gradients.append(try network.parameterTensors().map { try #require(try $0.grad) })
            }
            #expect(Swift.abs(losses[0] - losses[1]) <= 1e-6 * Swift.abs(losses[1]), "\(label) \(losses)")
            for (a, b) in zip(gradients[0], gradients[1]) {
                #expect(try (a - b).abs().amax().item() <= 1e-5 * max(try b.abs().amax().item(), 1e-3), "\(label)")
            }
        }
    }
}
