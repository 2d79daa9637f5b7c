import Foundation
import Testing
@testable import Models
import NN
import Torch

/// The residual scale of every family's collapsible block: 1 is the block, 0 is exactly the
/// identity (what the identity path relies on to remove a block at no cost).
@Suite struct ResidualScaleTests {
    /// One model per family with blocks of each kind (BasicBlock, Bottleneck, InvertedResidual,
    /// ViT's EncoderBlock, SwinBlock), its input and the block whose scale is tested.
    func cases() throws -> [(model: any CollapsibleModel, input: [Int], block: String)] {
        let g = try Generator(seed: 3)
        return [
            (try ModelArchitecture(kind: .resNet18, classCount: 3, inputChannels: 1, stem: .cifar, width: 4).build(generator: g),
             [2, 1, 16, 16], "layer2.1"),
            (try ModelArchitecture(kind: .resNet50, classCount: 3, inputChannels: 1, stem: .cifar, width: 4).build(generator: g),
             [2, 1, 16, 16], "layer1.2"),
            (try MobileNetV2(classCount: 3, inputChannels: 1, widthMultiplier: 0.25, generator: g), [2, 1, 32, 32], "features.5"),
            (try tinyViT(seed: 4), [2, 1, 16, 16], "encoder.layers.encoder_layer_1"),
            (try SwinTransformer(classCount: 3, inputChannels: 1, size: tinySwinSize, generator: g), [2, 1, 16, 16],
             "features.3.1"),
        ]
    }

    @Test func scaleZeroIsTheBlockRemovedAndScaleOneTheBlock() throws {
        for (model, shape, block) in try cases() {
            model.eval()
            // a ResNet block's input is non-negative (after a ReLU): its own final ReLU then passes it unchanged
            let x = try Tensor.randn(shape, generator: Generator(seed: 9))
            let full = try model(x)
            try model.setResidualScale(0.5, of: block)
            let half = try model(x)
            try model.setResidualScale(0, of: block)
            let zero = try model(x)
            try model.setResidualScale(1, of: block)
            #expect(try Self.gap(model(x), full) == 0, "\(block): scale 1 changed the output")
            let size = try full.abs().amax().item()
            #expect(try Self.gap(half, full) > 1e-3 * size, "\(block): scale 0.5 changed nothing")
            #expect(model.residualScales[block] == 1)
            let copy = try Self.copy(model)
            try copy.collapse(block)
            copy.eval()
            let removed = try copy(x)
            let gap = try Self.gap(zero, removed)
            #expect(gap <= 1e-5 * max(1, size), "\(model.architecture.label) \(block): scale 0 differs from the removed block by \(gap)")
        }
    }

    @Test func aNameThatIsNotABlockIsRefused() throws {
        let model = try ModelArchitecture(kind: .resNet18, classCount: 3, inputChannels: 1, stem: .cifar, width: 4).build()
        #expect(throws: ModelError.self) { try model.setResidualScale(0, of: "layer2.0.conv1") }
    }

    static func gap(_ a: Tensor, _ b: Tensor) throws -> Double { try (a - b).abs().amax().item() }

    static func copy(_ model: any CollapsibleModel) throws -> any CollapsibleModel {
        let copy = try model.architecture.build()
        for (name, tensor) in copy.stateDict() {
            let source = try #require(model.stateDict().first { $0.name == name }?.tensor)
            try withNoGrad { try tensor.copy_(source) }
        }
        return copy
    }
}
