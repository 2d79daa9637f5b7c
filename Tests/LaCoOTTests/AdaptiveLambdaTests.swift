import Datasets
import Foundation
@testable import LaCoOT
import LacootRecords
import Models
import NN
import Testing
import Torch

@Suite struct AdaptiveLambdaTests {
    func settings(target: Double? = nil) -> AdaptiveLambda.Settings {
        var s = AdaptiveLambda.Settings()
        s.epsilon = 0.01
        s.initialLambda = 1
        s.minimumLambda = 0.1
        s.maximumLambda = 4
        s.smoothing = 0          // the running distance is the last one: exact arithmetic below
        s.timeConstant = 0.1
        s.selectionFraction = 0.2
        s.reachFraction = 0.6
        s.targetMACs = target
        return s
    }

    @Test func weightsFollowTheDualAscentRule() throws {
        let blocks = ["a", "b", "c"]
        var adaptive = AdaptiveLambda(blocks: blocks, settings: settings(), totalSteps: 100)
        #expect(adaptive.rate == 0.1)             // 1 / (0.1 × 100 steps)
        #expect(adaptive.selectionStep == 20 && adaptive.reachStep == 60)
        let far = [BlockDistance(block: "a", distance: 1), BlockDistance(block: "b", distance: 0.001),
                   BlockDistance(block: "c", distance: 0.5)]
        // calibration: λ stays at its initial value
        for _ in 0..<20 { adaptive.observe(far) }
        #expect(adaptive.weights == ["a": 1, "b": 1, "c": 1])
        #expect(adaptive.selectionDue)
        #expect(adaptive.select(blockMACs: [:], fullMACs: 1).isEmpty)   // no MACs target: nothing released
        #expect(adaptive.startDistances == ["a": 1, "b": 0.001, "c": 0.5])
        // right after the start every path is at its start distance; then it falls geometrically to ε
        #expect(abs(adaptive.target(of: "a") - 1) < 1e-12)
        #expect(adaptive.target(of: "b") == 0.01)   // a block already below ε aims at ε
        // "a" stays at distance 1 while its path falls: it lags, its λ grows by e^(rate·signal)
        adaptive.observe(far)
        let targetAfterOne = 1 * pow(0.01, 1.0 / 40)     // one step of 40 along the path from 1 to ε
        #expect(abs(adaptive.target(of: "a") - targetAfterOne) < 1e-12)
        #expect(adaptive.weights["a"] == 1)                  // that step compared with the path's start: on it
        adaptive.observe(far)
        #expect(abs(adaptive.weights["a"]! - exp(0.1 * log(1 / targetAfterOne))) < 1e-12)
        // "b" is below ε (its target): the signal saturates at −1, twice
        #expect(abs(adaptive.weights["b"]! - exp(-0.2)) < 1e-12)
        // run to the end: a and c lag → λ up to the maximum; b ahead → λ down to the minimum
        for _ in 0..<78 { adaptive.observe(far) }
        #expect(adaptive.weights["a"] == 4 && adaptive.weights["c"] == 4)
        #expect(abs(adaptive.weights["b"]! - 0.1) < 1e-12)
        #expect(abs(adaptive.target(of: "a") - 0.01) < 1e-12)   // past the reach step: ε
        #expect(adaptive.steps == 100)
        #expect(abs(adaptive.meanLambda - (4 + 4 + 0.1) / 3) < 1e-12)
    }

    @Test func aBlockOnItsPathKeepsItsWeight() throws {
        var adaptive = AdaptiveLambda(blocks: ["a"], settings: settings(), totalSteps: 100)
        for _ in 0..<20 { adaptive.observe([BlockDistance(block: "a", distance: 1)]) }
        adaptive.select(blockMACs: [:], fullMACs: 1)
        // a distance exactly on the path: signal 0, λ unchanged step after step
        for _ in 0..<30 {
            let onPath = adaptive.target(of: "a")
            adaptive.observe([BlockDistance(block: "a", distance: onPath)])
            #expect(abs(adaptive.weights["a"]! - 1) < 1e-9)
        }
    }

    @Test func selectionKeepsTheCheapestBlocksUntilTheTarget() throws {
        let blocks = ["b1", "b2", "b3", "b4"]
        var adaptive = AdaptiveLambda(blocks: blocks, settings: settings(target: 0.6), totalSteps: 10)
        // distance per MAC: b1 0.1/10, b2 0.4/20, b3 0.05/10, b4 0.9/30 → cheapest b3, b1, b2, b4
        adaptive.observe([BlockDistance(block: "b1", distance: 0.1), BlockDistance(block: "b2", distance: 0.4),
                          BlockDistance(block: "b3", distance: 0.05), BlockDistance(block: "b4", distance: 0.9)])
        adaptive.observe([BlockDistance(block: "b1", distance: 0.1), BlockDistance(block: "b2", distance: 0.4),
                          BlockDistance(block: "b3", distance: 0.05), BlockDistance(block: "b4", distance: 0.9)])
        #expect(adaptive.selectionDue)
        // full 100 MACs, target ≤ 60: b3 (→ 90), b1 (→ 80), b2 (→ 60) — b4 released
        let released = adaptive.select(blockMACs: ["b1": 10, "b2": 20, "b3": 10, "b4": 30], fullMACs: 100)
        #expect(released == ["b4"])
        #expect(adaptive.selected == ["b1", "b2", "b3"])
        #expect(adaptive.weights["b4"] == 0)
        // a released block is no longer adapted
        adaptive.observe([BlockDistance(block: "b4", distance: 5)])
        #expect(adaptive.weights["b4"] == 0)
        // an unreachable target keeps every block
        var all = AdaptiveLambda(blocks: blocks, settings: settings(target: 0.1), totalSteps: 10)
        all.observe([BlockDistance(block: "b1", distance: 0.1)])
        all.observe([BlockDistance(block: "b1", distance: 0.1)])
        #expect(all.select(blockMACs: ["b1": 10, "b2": 20, "b3": 10, "b4": 30], fullMACs: 100).isEmpty)
        #expect(all.selected == blocks)
    }

    /// Whole blocks that leave a hair more than the target (8 equal layers and a stem: 4 layers
    /// leave 50.4 % of a 50 % target) reach it within the default 1 %; strict, a fifth is taken.
    @Test func aTargetMissedByAHairCountsAsReached() throws {
        let blocks = (0..<8).map { "layer\($0)" }
        let macs = Dictionary(uniqueKeysWithValues: blocks.map { ($0, 124) })   // 8 × 124 + 8 (stem, head) = 1000
        func chosen(tolerance: Double?) -> Int {
            var s = settings(target: 0.5)
            s.targetTolerance = tolerance
            var adaptive = AdaptiveLambda(blocks: blocks, settings: s, totalSteps: 10)
            for _ in 0..<2 { adaptive.observe(blocks.map { BlockDistance(block: $0, distance: 0.1) }) }
            adaptive.select(blockMACs: macs, fullMACs: 1000)
            return adaptive.selected.count
        }
        #expect(chosen(tolerance: nil) == 4)    // 504 MACs left ≤ 500 × 1.01
        #expect(chosen(tolerance: 0) == 5)      // strict: 504 > 500, one more block (380 left)
        #expect(chosen(tolerance: 0.005) == 5)  // 504 > 502.5
        var s = settings(target: 0.5)
        #expect(s.reachesTarget(macs: 505, fullMACs: 1000))
        #expect(!s.reachesTarget(macs: 506, fullMACs: 1000))
        s.targetTolerance = 0.6
        #expect(throws: ConfigurationError.self) { try s.validate() }
    }

    @Test func removalCostsReplaceTheDistancesInTheRanking() throws {
        let blocks = ["b1", "b2", "b3", "b4"]
        var adaptive = AdaptiveLambda(blocks: blocks, settings: settings(target: 0.6), totalSteps: 10)
        for _ in 0..<2 {   // by distance per MAC, b3, b1 and b2 would be removed (as in the test above)
            adaptive.observe([BlockDistance(block: "b1", distance: 0.1), BlockDistance(block: "b2", distance: 0.4),
                              BlockDistance(block: "b3", distance: 0.05), BlockDistance(block: "b4", distance: 0.9)])
        }
        // cost per MAC: b1 2/10, b2 0.5/20, b3 1/10, b4 -0.3/30 (bypassing it even helps) → b4 (→ 70), b2 (→ 50)
        let released = adaptive.select(blockMACs: ["b1": 10, "b2": 20, "b3": 10, "b4": 30], fullMACs: 100,
                                       removalCosts: ["b1": 2, "b2": 0.5, "b3": 1, "b4": -0.3])
        #expect(adaptive.selected == ["b2", "b4"])
        #expect(released == ["b1", "b3"])
    }

    /// compress's defaults per start: no path for identities, the identity path and ablation
    /// otherwise; trained convolutional blocks chosen early and gone soon, a new transformer's late.
    @Test func compressDefaultsFollowWhereTheBlocksStart() throws {
        typealias Settings = AdaptiveLambda.Settings
        #expect(Settings.Start(transformer: false, imported: false) == .identities)
        #expect(Settings.Start(transformer: false, imported: true) == .trainedConvolutional)
        #expect(Settings.Start(transformer: true, imported: false) == .newTransformer)
        #expect(Settings.Start(transformer: true, imported: true) == .trainedTransformer)
        let fresh = Settings.compressDefaults(for: .identities)
        #expect(fresh == Settings())
        #expect(fresh.identityPath == nil && fresh.selection == nil)
        let timings: [Settings.Start: (Double, Double)] = [
            .trainedConvolutional: (0.05, 0.3), .newTransformer: (0.7, 0.85), .trainedTransformer: (0.02, 0.15),
        ]
        for (start, (selection, reach)) in timings {
            let settings = Settings.compressDefaults(for: start)
            #expect(settings.identityPath == IdentityPath(shape: .linear) && settings.selection == .ablation, "\(start)")
            #expect(settings.selectionFraction == selection && settings.reachFraction == reach, "\(start)")
        }
        for start in Settings.Start.allCases { try Settings.compressDefaults(for: start).validate() }
    }

    @Test func settingsAreValidatedWithTheFlagNamed() throws {
        var s = AdaptiveLambda.Settings()
        try s.validate()
        s.epsilon = 0
        #expect(throws: ConfigurationError.self) { try s.validate() }
        s = AdaptiveLambda.Settings()
        s.targetMACs = 1.5
        do { try s.validate(); Issue.record("accepted target 1.5") } catch let e as ConfigurationError { #expect(e.flag == "target-macs") }
        s = AdaptiveLambda.Settings()
        s.initialLambda = 100
        do { try s.validate(); Issue.record("accepted λ0 100") } catch let e as ConfigurationError { #expect(e.flag == "initial-lambda") }
    }

    @Test func perBlockWeightsGiveTheWeightedMeanOfTheDistances() throws {
        let model = try tinyModel()
        let x = try Tensor.randn([8, 1, 32, 32], generator: Generator(seed: 2))
        var events: [BlockEvent] = []
        _ = try model.forward(x) { events.append($0) }
        func regularizer() throws -> LaCoOTRegularizer {
            try LaCoOTRegularizer(model: model, lambda: 1, distance: SlicedWasserstein(projectionCount: 6), seed: 4)
        }
        let plain = try regularizer().penalty(events, epoch: 0)
        // equal weights: the fixed-λ penalty, same draws
        let equal = try regularizer().penalty(events, weights: ["layer1.1": 1, "layer2.1": 1, "layer3.1": 1, "layer4.1": 1])
        let equalLoss = try equal.loss.item(), plainLoss = try plain.loss.item()
        #expect(abs(equalLoss - plainLoss) < 1e-6)
        #expect(equal.distances == plain.distances)
        // weight 0 for two blocks: they are not measured; Σ λ_b d_b over the other two, / 2
        let weights = ["layer1.1": 2.0, "layer3.1": 0.5, "layer2.1": 0]
        let partial = try regularizer().penalty(events, weights: weights)
        #expect(partial.distances.map(\.block) == ["layer1.1", "layer3.1"])
        let expected = (2 * partial.distances[0].distance + 0.5 * partial.distances[1].distance) / 2
        let partialLoss = try partial.loss.item()
        #expect(abs(partialLoss - expected) < 1e-5 * max(1, expected))
        #expect(partial.lambda == 1.25)
        let none = try regularizer().penalty(events, weights: [:])
        let noneLoss = try none.loss.item()
        #expect(none.distances.isEmpty && noneLoss == 0)
    }
}

@Suite struct BatchNormReestimationTests {
    @Test func statisticsAreTheAverageOfTheBatchStatistics() throws {
        let model = try tinyModel()
        let data = try tinyData(count: 64)
        for (name, t) in model.stateDict() where name.hasSuffix("running_mean") { try t.fill_(100) }
        let weightsBefore = try model.namedParameters().map { try $0.tensor.floats() }
        let stem = try #require(model.module(at: "bn1") as? BatchNorm2d)
        let conv = try #require(model.module(at: "conv1"))
        model.train(true)
        let used = try BatchNormReestimation.run(on: model, images: data, normalization: tinyNormalization,
                                                 maxImages: 64, batchSize: 32)
        #expect(used == 64)
        #expect(model.isTraining)                       // mode restored
        #expect(stem.momentum == 0.1)                   // momentum restored
        #expect(try model.namedParameters().map { try $0.tensor.floats() } == weightsBefore)   // no weight changed
        #expect(try stem.batchesTracked!.item() == 2)
        // by hand: the stem's input is conv1 of the normalized images; mean of the two batch means,
        // mean of the two unbiased batch variances
        let loader = try Loader.evaluation(dataset: data, batchSize: 32, normalization: tinyNormalization)
        var means: [[Float]] = [], variances: [[Float]] = []
        try withNoGrad {
            try loader.forEachBatch(epoch: 0) { batch in
                let y = try conv(batch.images)          // [32, C, 32, 32]
                let perChannel = try y.transpose(0, 1).reshape([y.shape[1], -1])
                means.append(try perChannel.mean(dims: [1]).floats())
                let n = Float(perChannel.shape[1])
                let m = try perChannel.mean(dims: [1], keepDim: true)
                let centered = try perChannel - m
                variances.append(try (centered * centered).sum(dims: [1]).floats().map { $0 / (n - 1) })
            }
        }
        let mean = try stem.runningMean!.floats(), variance = try stem.runningVar!.floats()
        for c in 0..<mean.count {
            #expect(abs(mean[c] - (means[0][c] + means[1][c]) / 2) < 1e-4)
            #expect(abs(variance[c] - (variances[0][c] + variances[1][c]) / 2) < 1e-3 * max(1, variance[c]))
        }
    }

    @Test func zeroInitializedBlocksAreIdentities() throws {
        let model = try tinyModel()
        let zeroed = try ResidualInit.zeroLastNorm(of: model.collapsibleBlockNames, in: model)
        #expect(zeroed == model.collapsibleBlockNames)
        let bn = try #require(model.module(at: "layer3.1.bn2") as? BatchNorm2d)
        #expect(try bn.weight!.floats().allSatisfy { $0 == 0 })
        model.eval()
        let x = try Tensor.randn([2, 1, 32, 32], generator: Generator(seed: 9))
        let before = try withNoGrad { try model(x).floats() }
        try model.collapse(model.collapsibleBlockNames)
        let after = try withNoGrad { try model(x).floats() }
        #expect(zip(before, after).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) })
    }
}

@Suite struct IdentityPathTests {
    @Test func shapesGoFromOneToZero() {
        let linear = IdentityPath(shape: .linear), cosine = IdentityPath(shape: .cosine)
        #expect(linear.scale(atProgress: -1) == 1 && linear.scale(atProgress: 0.25) == 0.75 && linear.scale(atProgress: 2) == 0)
        #expect(cosine.scale(atProgress: 0) == 1 && abs(cosine.scale(atProgress: 0.5) - 0.5) < 1e-12)
        #expect(abs(cosine.scale(atProgress: 0.25) - (1 + cos(Double.pi / 4)) / 2) < 1e-12 && cosine.scale(atProgress: 1) == 0)
    }

    @Test func theChosenBlocksFadeBetweenTheSelectionAndTheReachStep() {
        var s = AdaptiveLambda.Settings()
        s.selectionFraction = 0.2
        s.reachFraction = 0.6
        s.targetMACs = 0.5
        s.identityPath = IdentityPath(shape: .linear)
        var adaptive = AdaptiveLambda(blocks: ["a", "b"], settings: s, totalSteps: 100)
        let distances = [BlockDistance(block: "a", distance: 0.1), BlockDistance(block: "b", distance: 0.9)]
        for _ in 0..<20 { adaptive.observe(distances) }
        #expect(adaptive.residualScale(of: "a") == 1 && adaptive.residualScale(of: "b") == 1)   // before the selection
        // equal MACs: "a" is cheaper to remove per MAC and removing it alone reaches 50 %
        #expect(adaptive.select(blockMACs: ["a": 50, "b": 50], fullMACs: 100) == ["b"])
        #expect(adaptive.residualScale(of: "a") == 1)
        for _ in 0..<20 { adaptive.observe(distances) }       // halfway from step 20 to 60
        #expect(abs(adaptive.residualScale(of: "a") - 0.5) < 1e-12)
        #expect(adaptive.residualScale(of: "b") == 1)          // released: trained freely, never faded
        for _ in 0..<20 { adaptive.observe(distances) }
        #expect(adaptive.residualScale(of: "a") == 0)
        for _ in 0..<40 { adaptive.observe(distances) }
        #expect(adaptive.residualScale(of: "a") == 0)
        s.identityPath = nil
        let off = AdaptiveLambda(blocks: ["a"], settings: s, totalSteps: 100)
        #expect(off.residualScale(of: "a") == 1)
    }
}
