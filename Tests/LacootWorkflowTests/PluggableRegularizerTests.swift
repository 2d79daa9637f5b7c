import Foundation
import LaCoOT
import LacootRecords
@testable import LacootWorkflow
import Models
import NN
import Testing
import Torch

/// A second ``Regularizer``, written here without touching the trainer: the Block-Influence
/// criterion of LLM layer pruning, 1 − mean over samples of cos(block input, block output).
final class CosineRegularizer: Regularizer {
    let blocks: [String]
    var policy: LambdaPolicy
    /// The weights and block names of every call, in order.
    private(set) var calls: [(weights: BlockWeights, blocks: [String])] = []

    init(blocks: [String], policy: LambdaPolicy) {
        self.blocks = blocks
        self.policy = policy
    }

    static func distance(_ input: Tensor, _ output: Tensor) throws -> Tensor {
        let a = try input.flatten(from: 1), b = try output.flatten(from: 1)
        let cosine = try (a * b).sum(dims: [1]) / (try a.norm(dims: [1]) * b.norm(dims: [1]))
        return try 1 - cosine.mean()
    }

    func penalty(_ events: [BlockEvent], weights: BlockWeights) throws -> Penalty {
        let used = events.filter { blocks.contains($0.name) && weights.weight(of: $0.name) > 0 }
        calls.append((weights, used.map(\.name)))
        var total = try Tensor.scalar(0)
        var distances: [BlockDistance] = []
        for event in used {
            let d = try Self.distance(event.input, event.output)
            distances.append(BlockDistance(block: event.name, distance: try d.item()))
            total = try total + d * weights.weight(of: event.name)
        }
        let loss = used.isEmpty ? total : try total / Double(used.count)
        return Penalty(loss: loss, lambda: weights.lambda, distances: distances)
    }
}

@Suite(.serialized) struct PluggableRegularizerTests {
    /// One random batch (images [16, 1, 32, 32], labels in 0..<4).
    func batch() throws -> (Tensor, Tensor) {
        let g = try Generator(seed: 21)
        return (try Tensor.randn([16, 1, 32, 32], generator: g), try Tensor.randint(low: 0, high: 4, shape: [16], generator: g))
    }

    func trainer(_ model: ResNet, _ regularizer: CosineRegularizer) throws -> Trainer {
        let trainer = try Trainer(model: model, config: tinyConfig(), normalization: tinyNormalization, regularizer: regularizer)
        trainer.log = { _ in }
        trainer.showProgress = false
        return trainer
    }

    @Test func theTrainerTrainsWithAnotherRegularizer() throws {
        let (images, labels) = try batch()
        let model = try tinyModel(seed: 1)
        let cosine = CosineRegularizer(blocks: model.collapsibleBlockNames, policy: .constant(0.5))
        let trainer = try trainer(model, cosine)
        #expect(trainer.regularizer === cosine)
        let first = try trainer.step(images: images, labels: labels, fractionalEpoch: 0)
        let second = try trainer.step(images: images, labels: labels, fractionalEpoch: 0.5)
        // asked once per step, with every block's events and the policy's weight
        #expect(cosine.calls.count == 2)
        #expect(cosine.calls.allSatisfy { $0.weights == .uniform(0.5) && $0.blocks == model.collapsibleBlockNames })
        #expect(first.lambda == 0.5 && second.lambda == 0.5)
        #expect(first.regularizer > 0 && first.loss.isFinite)
        #expect(abs(first.loss - first.crossEntropy - first.regularizer) < 1e-6)

        // its penalty reached the update: the same steps without it (λ = 0) give other weights
        let plainModel = try tinyModel(seed: 1)
        let off = CosineRegularizer(blocks: plainModel.collapsibleBlockNames, policy: .constant(0))
        let plain = try self.trainer(plainModel, off)
        let plainFirst = try plain.step(images: images, labels: labels, fractionalEpoch: 0)
        _ = try plain.step(images: images, labels: labels, fractionalEpoch: 0.5)
        #expect(off.calls.allSatisfy { $0.blocks.isEmpty })
        #expect(plainFirst.regularizer == 0 && plainFirst.crossEntropy == first.crossEntropy)
        #expect(try weights(of: plainModel) != weights(of: model))
    }

    @Test func theStepPenaltyIsTheRegularizersLossWithThePolicysWeight() throws {
        let (images, labels) = try batch()
        let model = try tinyModel(seed: 1)
        // the ramp: λ(t) = 2 · t / 4 at fractional epoch t
        let cosine = CosineRegularizer(blocks: ["layer2.1", "layer4.1"], policy: .ramp(to: 2, overEpochs: 4))
        // the distances the step will see: the same model, before its update
        var events: [BlockEvent] = []
        let twin = try tinyModel(seed: 1)
        try twin.setMemoryFormat(.channelsLast)
        _ = try twin.forward(images.contiguous(.channelsLast)) { events.append($0) }
        let expected = try events.filter { ["layer2.1", "layer4.1"].contains($0.name) }
            .map { try CosineRegularizer.distance($0.input, $0.output).item() }
        let result = try trainer(model, cosine).step(images: images, labels: labels, fractionalEpoch: 1)
        #expect(cosine.calls.map(\.weights) == [.uniform(0.5)])
        #expect(result.lambda == 0.5)
        let penalty = 0.5 * expected.reduce(0, +) / 2
        #expect(abs(result.regularizer - penalty) < 1e-5 * max(1, penalty), "\(result.regularizer) vs \(penalty)")
    }
}
