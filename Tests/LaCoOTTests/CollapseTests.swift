import Datasets
import Foundation
@testable import LaCoOT
import LacootRecords
import Models
import NN
import Testing
import Torch

@Suite struct CollapseTests {
    @Test func collapsingABlockWithAZeroResidualBranchKeepsTheLogits() throws {
        let model = try tinyModel()
        model.eval()
        // zero the last BatchNorm of layer2.1: its residual branch outputs 0, so the block is
        // relu(0 + x) = x on its (non-negative, post-ReLU) input
        for (name, t) in model.namedParameters() where name.hasPrefix("layer2.1.bn2.") { try t.zero_() }
        let x = try Tensor.randn([3, 1, 32, 32], generator: Generator(seed: 5))
        let before = try withNoGrad { try model(x).floats() }
        try model.collapse("layer2.1")
        let after = try withNoGrad { try model(x).floats() }
        #expect(before.count == after.count)
        #expect(zip(before, after).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) })
        // a block with a live branch does change them
        try model.collapse("layer3.1")
        let changed = try withNoGrad { try model(x).floats() }
        #expect(zip(after, changed).contains { abs($0 - $1) > 1e-4 })
    }

    @Test func removalOrdersArrangeBlocksAsDocumented() throws {
        let blocks = ["layer1.1", "layer2.1", "layer3.1", "layer4.1"]
        let distances = [BlockDistance(block: "layer1.1", distance: 0.3), BlockDistance(block: "layer2.1", distance: 0.1),
                         BlockDistance(block: "layer3.1", distance: 0.9), BlockDistance(block: "layer4.1", distance: 0.2)]
        #expect(try RemovalOrder.ranked.arrange(blocks, distances: distances) == ["layer2.1", "layer4.1", "layer1.1", "layer3.1"])
        #expect(try RemovalOrder.reverse.arrange(blocks, distances: distances) == ["layer3.1", "layer1.1", "layer4.1", "layer2.1"])
        #expect(try RemovalOrder.deepestFirst.arrange(blocks, distances: []) == blocks.reversed())
        let r1 = try RemovalOrder.random.arrange(blocks, distances: [], seed: 1)
        #expect(Set(r1) == Set(blocks))
        #expect(try RemovalOrder.random.arrange(blocks, distances: [], seed: 1) == r1)
        let others = try (2..<8).map { try RemovalOrder.random.arrange(blocks, distances: [], seed: UInt64($0)) }
        #expect(others.contains { $0 != r1 })
        #expect(throws: CollapseError.missingDistance(block: blocks[2])) { try RemovalOrder.ranked.arrange(blocks, distances: Array(distances.prefix(2))) }
        #expect(try RemovalOrder.given.arrange(blocks, distances: []) == blocks)
    }

    @Test func policiesRemoveTheRightBlocks() throws {
        let data = try tinyData(count: 24)
        let distances = [BlockDistance(block: "layer1.1", distance: 0.3), BlockDistance(block: "layer2.1", distance: 0.1),
                         BlockDistance(block: "layer3.1", distance: 0.9), BlockDistance(block: "layer4.1", distance: 0.2)]
        func collapser() throws -> Collapser {
            let c = Collapser(model: try tinyModel(), normalization: tinyNormalization)
            c.measureLatency = false
            return c
        }
        let two = try collapser().collapse(policy: .remove(2), validation: data, distances: distances)
        #expect(two.removed == ["layer2.1", "layer4.1"])
        #expect(two.after.macs < two.before.macs)
        let c = try collapser()
        let named = try c.collapse(policy: .blocks(["layer3.1"]), validation: data, distances: distances)
        #expect(named.removed == ["layer3.1"])
        #expect(c.model.collapsedBlocks == ["layer3.1"])
        // an unlimited accuracy budget removes every block, in ranked order
        let all = try collapser().collapse(policy: .maxAccuracyDrop(100), validation: data, distances: distances)
        #expect(all.removed == ["layer2.1", "layer4.1", "layer1.1", "layer3.1"])
        let keptAll = all.validationTrace.allSatisfy { $0.kept }
        #expect(keptAll)
        #expect(throws: CollapseError.cannotRemove(count: 5, active: 4)) { try collapser().collapse(policy: .remove(5), validation: data, distances: distances) }
        #expect(throws: ConfigurationError.outOfRange(flag: "max-drop", problem: "must be ≥ 0, got -1.0")) {
            try collapser().collapse(policy: .maxAccuracyDrop(-1), validation: data, distances: distances)
        }
    }

    /// A budget that a block breaks: identity blocks (zeroed branches) go, the first block whose
    /// removal costs accuracy is put back and the removal stops there (ranked, cumulative).
    @Test func maxAccuracyDropStopsAtTheFirstCostlyBlock() throws {
        let images = try tinyData(count: 64)
        let model = try tinyModel()
        try ResidualInit.zeroLastNorm(of: ["layer1.1", "layer2.1", "layer4.1"], in: model)
        let costly = try #require(model.module(at: "layer3.1.bn2") as? BatchNorm2d)
        try withNoGrad { try costly.weight!.fill_(50) }
        // labels = the full model's own predictions: 100 % before, any change of prediction costs
        model.eval()
        let loader = try Loader.evaluation(dataset: images, batchSize: 64, normalization: tinyNormalization)
        var predicted: [Int64] = []
        try withNoGrad {
            try loader.forEachBatch(epoch: 0) { batch in
                predicted += try model(batch.images).argmax(dim: 1).to(.int64).floats().map { Int64($0) }
            }
        }
        let data = try ImageDataset(name: "self-labelled", pixels: images.pixels, labels: predicted, channels: 1, height: 32,
                                    width: 32, classCount: 4)
        let probe = try Collapser.copy(of: model)
        let full = try Evaluation.accuracy(of: probe, on: data, normalization: tinyNormalization)
        try probe.collapse("layer3.1")
        try #require(try Evaluation.accuracy(of: probe, on: data, normalization: tinyNormalization) < full,
                     "the test needs layer3.1 to matter")
        let distances = ["layer1.1": 0.1, "layer2.1": 0.2, "layer3.1": 0.3, "layer4.1": 0.4]
            .map { BlockDistance(block: $0.key, distance: $0.value) }
        let collapser = Collapser(model: model, normalization: tinyNormalization)
        collapser.measureLatency = false
        let outcome = try collapser.collapse(policy: .maxAccuracyDrop(0), validation: data, distances: distances)
        #expect(outcome.removed == ["layer1.1", "layer2.1"])
        #expect(outcome.validationTrace.map(\.block) == ["layer1.1", "layer2.1", "layer3.1"])   // layer4.1 never tried
        #expect(outcome.validationTrace.map(\.kept) == [true, true, false])
        #expect(model.collapsedBlocks == ["layer1.1", "layer2.1"])
        #expect(outcome.after.accuracy == outcome.before.accuracy)
    }
}
