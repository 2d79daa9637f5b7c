import Foundation
@testable import LaCoOT
import LacootRecords
import Models
import Testing
import Torch

@Suite struct LambdaPolicyTests {
    @Test func aScheduleGivesEveryBlockItsValue() {
        #expect(LambdaPolicy.constant(5).weights(atEpoch: 0) == .uniform(5))
        #expect(LambdaPolicy.constant(5).weights(atEpoch: 37.5) == .uniform(5))
        let ramp = LambdaPolicy.ramp(to: 2, overEpochs: 4)
        #expect(ramp == .schedule(LambdaSchedule(lambda: 2, warmupEpochs: 4)))
        #expect([0, 1, 3, 4, 9].map { ramp.weights(atEpoch: $0) } == [.uniform(0), .uniform(0.5), .uniform(1.5), .uniform(2), .uniform(2)])
        #expect(ramp.weights(atEpoch: 1).weight(of: "any block") == 0.5)
        #expect(ramp.weights(atEpoch: 3).lambda == 1.5)
        #expect(ramp.adaptive == nil)
    }

    @Test func anAdaptivePolicyGivesEachBlockItsWeightAndTheirMean() {
        var s = AdaptiveLambda.Settings()
        s.initialLambda = 1
        s.targetMACs = 0.5
        var adaptive = AdaptiveLambda(blocks: ["a", "b", "c"], settings: s, totalSteps: 10)
        #expect(LambdaPolicy.adaptive(adaptive).weights(atEpoch: 0) == .perBlock(["a": 1, "b": 1, "c": 1], lambda: 1))
        adaptive.observe([BlockDistance(block: "a", distance: 0.1), BlockDistance(block: "b", distance: 9),
                          BlockDistance(block: "c", distance: 0.2)])
        adaptive.observe([BlockDistance(block: "a", distance: 0.1), BlockDistance(block: "b", distance: 9),
                          BlockDistance(block: "c", distance: 0.2)])
        // a and c (cheapest) reach the target; b is released
        #expect(adaptive.select(blockMACs: ["a": 30, "b": 30, "c": 30], fullMACs: 100) == ["b"])
        let weights = LambdaPolicy.adaptive(adaptive).weights(atEpoch: 0.5)
        #expect(weights == .perBlock(adaptive.weights, lambda: adaptive.meanLambda))
        #expect(weights.weight(of: "b") == 0 && weights.weight(of: "absent") == 0)
        #expect(weights.lambda == 1)
        #expect(LambdaPolicy.adaptive(adaptive).adaptive == adaptive)
    }

    /// The regularizer's penalty at an epoch is its policy's weights then, to the bit — fixed
    /// or per block — so the trainer asking the policy once per step changes no number.
    @Test func theRegularizerPenaltyFollowsItsPolicy() throws {
        let model = try tinyModel()
        var events: [BlockEvent] = []
        _ = try model.forward(Tensor.randn([6, 1, 32, 32], generator: Generator(seed: 3))) { events.append($0) }
        func regularizer(_ policy: LambdaPolicy) throws -> LaCoOTRegularizer {
            let r = try LaCoOTRegularizer(model: model, lambda: 1, distance: SlicedWasserstein(projectionCount: 6), seed: 4)
            r.policy = policy
            return r
        }
        let ramp = LambdaPolicy.ramp(to: 3, overEpochs: 2)
        let byEpoch = try regularizer(ramp).penalty(events, epoch: 1.5)
        let byWeights = try regularizer(ramp).penalty(events, weights: .uniform(2.25))
        #expect(byEpoch.lambda == 2.25 && byWeights.lambda == 2.25)
        #expect(try byEpoch.loss.item() == byWeights.loss.item())
        #expect(byEpoch.distances == byWeights.distances && byEpoch.distances.count == 4)

        var s = AdaptiveLambda.Settings()
        s.initialLambda = 0.7
        let adaptive = LambdaPolicy.adaptive(AdaptiveLambda(blocks: model.collapsibleBlockNames, settings: s, totalSteps: 10))
        let perBlock = try regularizer(adaptive).penalty(events, epoch: 0)
        let byDictionary = try regularizer(.constant(1)).penalty(events, weights: Dictionary(
            uniqueKeysWithValues: model.collapsibleBlockNames.map { ($0, 0.7) }))
        #expect(try perBlock.loss.item() == byDictionary.loss.item())
        #expect(perBlock.distances == byDictionary.distances && abs(perBlock.lambda - 0.7) < 1e-15)
    }

    /// λ and its ramp have one rule, whether a configuration or a hand-built regularizer holds them.
    @Test func oneRuleForLambda() throws {
        #expect(throws: Never.self) { try LambdaSchedule(lambda: 0).validate() }
        #expect(throws: Never.self) { try LambdaSchedule(lambda: 1e6, warmupEpochs: 100_000).validate() }
        #expect(throws: ConfigurationError.outOfRange(flag: "lambda", problem: "must be a number in [0, 1e6], got -1.0")) {
            try LambdaSchedule(lambda: -1).validate()
        }
        for bad in [Double.nan, .infinity, 2e6] {
            #expect(throws: ConfigurationError.self) { try LambdaSchedule(lambda: bad).validate() }
        }
        for bad in [-1, Double.nan, .infinity] {
            let error = #expect(throws: ConfigurationError.self) { try LambdaSchedule(lambda: 1, warmupEpochs: bad).validate() }
            #expect(error?.flag == "lambda-warmup")
        }
        let model = try tinyModel()
        #expect(throws: ConfigurationError.outOfRange(flag: "lambda", problem: "must be a number in [0, 1e6], got 2000000.0")) {
            try LaCoOTRegularizer(model: model, lambda: 2e6)
        }
        let error = #expect(throws: ConfigurationError.self) {
            try LaCoOTRegularizer(model: model, lambda: LambdaSchedule(lambda: 1, warmupEpochs: -2))
        }
        #expect(error?.flag == "lambda-warmup")
    }
}
