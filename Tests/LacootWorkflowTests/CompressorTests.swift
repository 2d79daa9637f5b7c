import Datasets
import Foundation
import LaCoOT
@testable import LacootWorkflow
import LacootSupport
import Models
import NN
import Optim
import Testing
import Torch

@Suite(.serialized) struct CompressorTests {
    func adaptiveConfig(epochs: Int = 2, target: Double? = 0.5) -> TrainingConfig {
        var c = tinyConfig(epochs: epochs)
        var s = AdaptiveLambda.Settings()
        s.targetMACs = target
        c.regularizer.adaptiveLambda = s
        return c
    }

    func data() throws -> PreparedData {
        PreparedData(train: try tinyData(count: 48), validation: try tinyData(count: 16, seed: 1),
                     test: try tinyData(count: 16, seed: 2), normalization: tinyNormalization)
    }

    func trainer(_ config: TrainingConfig, cancellation: CancellationToken? = nil) throws -> Trainer {
        let trainer = try Trainer(model: try tinyModel(seed: 1), config: config, normalization: tinyNormalization)
        trainer.showProgress = false
        trainer.log = { _ in }
        trainer.cancellation = cancellation
        return trainer
    }

    @Test func compressTrainsAdaptsAndRemovesWithinTheBudget() throws {
        let trainer = try trainer(adaptiveConfig())
        let compressor = Compressor(trainer: trainer)
        compressor.maxDrop = 100          // every candidate fits this budget
        let outcome = try compressor.compress(data: try data())
        let adaptive = try #require(trainer.adaptive)
        #expect(adaptive.steps == 2 * 3)                  // 48 images, batch 16, 2 epochs
        #expect(adaptive.selectionDone)
        #expect(Set(outcome.lambdaFinal.keys) == Set(trainer.model.collapsibleBlockNames))
        #expect(outcome.history.count == 2 && outcome.history.allSatisfy { $0.blockLambdas != nil })
        // the blocks the selection kept, all removed; the model is collapsed exactly there
        #expect(Set(outcome.removed) == Set(adaptive.selected))
        #expect(trainer.model.collapsedBlocks == Set(outcome.removed))
        let cost = try trainer.model.cost(height: 32, width: 32)
        #expect(outcome.compressed.macs == cost.totalMACs)
        #expect(Double(outcome.compressed.macs) <= 0.5 * Double(outcome.full.macs))
        #expect(outcome.compressedWithoutReestimation.macs == outcome.compressed.macs)
        #expect(outcome.curve.count == outcome.removed.count)
        #expect(outcome.curve.allSatisfy { $0.accuracyBNRecalibrated != nil })
        #expect(outcome.curve.last?.accuracy == outcome.compressedWithoutReestimation.accuracy)
        // the reported accuracy (taken from the last kept removal's test pass) is the final model's
        let data = try data()
        let measured = try Evaluation.accuracy(of: trainer.model, on: data.test, normalization: data.normalization)
        #expect(outcome.compressed.accuracy == measured)
    }

    @Test func aBudgetOfZeroRejectsACostlyBlock() throws {
        // a block whose removal changes validation accuracy at all is put back with max-drop 0
        let trainer = try trainer(adaptiveConfig(epochs: 1, target: nil))
        let compressor = Compressor(trainer: trainer)
        compressor.maxDrop = 0
        compressor.reestimateBatchNorm = false
        let data = try data()
        _ = try trainer.fit(train: data.train, validation: data.validation)
        // make layer3.1 costly: a large residual branch
        let bn = try #require(trainer.model.module(at: "layer3.1.bn2") as? BatchNorm2d)
        try withNoGrad { try bn.weight!.fill_(50) }
        let pool = try compressor.acceptancePool(data)
        #expect(pool.count == 16 + 48)   // 16 validation images topped up with every training image
        let full = try Evaluation.accuracy(of: trainer.model, on: pool, normalization: data.normalization)
        let copy = try Collapser.copy(of: trainer.model)
        try copy.collapse("layer3.1")
        let without = try Evaluation.accuracy(of: copy, on: pool, normalization: data.normalization)
        try #require(without < full, "the test needs layer3.1 to matter")
        let outcome = try compressor.collapse(data: data)
        #expect(outcome.rejected.contains("layer3.1"))
        #expect(!trainer.model.collapsedBlocks.contains("layer3.1"))
        let kept = try Evaluation.accuracy(of: trainer.model, on: pool, normalization: data.normalization)
        #expect(kept >= full)   // every removal it kept cost nothing on those images
    }

    @Test func anAdaptiveRunResumesBitIdentically() throws {
        let straight = try trainer(adaptiveConfig())
        let data = try data()
        _ = try straight.fit(train: data.train, validation: data.validation)
        let folder = RunFolder(url: try temporaryFolder())
        // stop after step 2 of epoch 1 (past the selection at step 1), then resume
        let token = CancellationToken()
        let first = try trainer(adaptiveConfig(), cancellation: token)
        var steps = 0
        first.onStep = { _ in steps += 1; if steps == 2 { token.cancel() } }
        #expect(throws: TrainingError.self) { try first.fit(train: data.train, validation: data.validation, runFolder: folder) }
        let saved = try TrainingCheckpoint.load(from: folder.checkpointURL)
        #expect(saved.metadata["adaptive_lambda"] != nil)
        let resumed = try trainer(adaptiveConfig())
        _ = try resumed.fit(train: data.train, validation: data.validation, runFolder: folder, resume: true)
        #expect(resumed.adaptive == straight.adaptive)
        #expect(try weights(of: resumed.model) == weights(of: straight.model))
    }
}

@Suite(.serialized) struct IdentityPathCompressorTests {
    /// Blocks that start far from the identity (usual initialization, as imported weights do):
    /// with the identity path the chosen blocks end at scale 0, so removing them changes nothing.
    /// Either selection: by distance, or by ablation (whose costs the log lists, block by block).
    @Test(arguments: [BlockSelection.distance, .ablation])
    func theChosenBlocksEndAsIdentitiesAndTheirRemovalCostsNothing(selection: BlockSelection) throws {
        var config = tinyConfig(epochs: 2)
        var settings = AdaptiveLambda.Settings()
        settings.identityPath = IdentityPath()
        settings.selection = selection
        config.regularizer.adaptiveLambda = settings
        let trainer = try Trainer(model: try tinyModel(seed: 1), config: config, normalization: tinyNormalization)
        trainer.showProgress = false
        var lines: [String] = []
        trainer.log = { lines.append($0) }
        let data = PreparedData(train: try tinyData(count: 48), validation: try tinyData(count: 16, seed: 1),
                                test: try tinyData(count: 16, seed: 2), normalization: tinyNormalization)
        _ = try trainer.fit(train: data.train, validation: data.validation)
        let adaptive = try #require(trainer.adaptive)
        #expect(!adaptive.selected.isEmpty)
        let costs = lines.first { $0.hasPrefix("removal costs") }
        #expect((costs != nil) == (selection == .ablation), "\(lines)")
        if let costs { #expect(trainer.model.collapsibleBlockNames.allSatisfy { costs.contains($0 + " ") }, "\(costs)") }
        for block in trainer.model.collapsibleBlockNames {
            #expect(trainer.model.residualScales[block] == (adaptive.selected.contains(block) ? 0 : 1), "\(block)")
        }
        let before = try Collapser.copy(of: trainer.model)
        let compressor = Compressor(trainer: trainer)
        compressor.maxDrop = 0
        compressor.reestimateBatchNorm = false
        var removals: [String] = []
        compressor.log = { removals.append($0) }
        let outcome = try compressor.collapse(data: data)
        #expect(Set(outcome.removed) == Set(adaptive.selected))   // none costs anything, even at a budget of 0
        #expect(outcome.compressed.accuracy == outcome.full.accuracy)
        // at scale 0 they are taken out without an accuracy pass, and the curve keeps the full accuracy
        #expect(removals == outcome.removed.map { "remove \($0): residual scale 0, exactly the identity → removed" }, "\(removals)")
        #expect(outcome.curve.map(\.accuracy) == Array(repeating: outcome.full.accuracy, count: outcome.removed.count))
        #expect(outcome.curve.map(\.macs) == outcome.curve.map(\.macs).sorted(by: >) && Set(outcome.curve.map(\.macs)).count == outcome.curve.count)
        #expect(outcome.compressedWithoutReestimation.macs == outcome.compressed.macs)
        // the logits themselves: the collapsed model computes what the trained one did
        before.eval(); trainer.model.eval()
        #expect(before.residualScales == trainer.model.residualScales.merging(
            adaptive.selected.map { ($0, 0.0) }) { current, _ in current })   // the copy keeps the scales
        let x = try Tensor.randn([8, 1, 32, 32], generator: Generator(seed: 3))
        let gap = try (before(x) - trainer.model(x)).abs().amax().item()
        #expect(gap <= 1e-5)
    }

    /// Ablation costs: a block whose branch outputs zero costs exactly nothing to bypass, the
    /// others do; the model's mode and residual scales come back as they were.
    @Test func removalCostsMeasureTheBypassedBlockAndRestoreTheModel() throws {
        let model = try tinyModel(seed: 2)
        let trainer = try Trainer(model: model, config: tinyConfig(), normalization: tinyNormalization)
        let last = try #require(model.module(at: "layer2.1.bn2") as? BatchNorm2d)
        try withNoGrad { try last.weight!.zero_(); try last.bias!.zero_() }
        let data = try tinyData(count: 16)
        let images = try Tensor.randn([16, 1, 32, 32], generator: Generator(seed: 3))
        let labels = try Tensor(data.labels, shape: [16])
        model.train()
        let costs = try #require(try trainer.removalCosts(of: model.collapsibleBlockNames, images: images, labels: labels))
        #expect(costs["layer2.1"] == 0, "\(costs)")
        #expect(costs.filter { $0.key != "layer2.1" }.values.allSatisfy { $0 != 0 }, "\(costs)")
        #expect(model.isTraining)
        #expect(model.residualScales.values.allSatisfy { $0 == 1 })
    }
}
