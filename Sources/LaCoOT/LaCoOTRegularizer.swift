import LacootRecords
import Models
import NN
import Torch

/// LaCoOT's training term: λ · (1/B) · Σ_b MSW(P_b_in, P_b_out) over the regularized blocks.
///
/// Plug it into any training loop: collect the block events of the forward pass, then ask for
/// the penalty and add it to the loss.
/// ```swift
/// let lacoot = try LaCoOTRegularizer(model: model, lambda: 5)
/// var events: [BlockEvent] = []
/// let logits = try model.forward(x) { events.append($0) }
/// let penalty = try lacoot.penalty(events, epoch: 0.5)
/// let loss = try Functional.crossEntropy(logits, target: y) + penalty.loss
/// ```
/// Each sample is one point (its whole feature map flattened), the batch's true size is used,
/// and no feature is normalized — as the paper defines it. Directions come from a generator
/// seeded by `seed`, so runs reproduce.
public final class LaCoOTRegularizer: Regularizer {
    /// λ of each block at each step (a constant λ unless given a ramp or an adaptive policy).
    public var policy: LambdaPolicy
    public var distance: SlicedWasserstein
    /// The features compared with each block's input (the block's output by default).
    public let tap: FeatureTap
    /// The blocks regularized (all the model's collapsible blocks by default).
    public let blocks: [String]
    private let selected: Set<String>
    public let seed: UInt64
    /// Draws the random directions; a training checkpoint saves and restores its state.
    public let generator: Generator
    /// The last direction used per block (warm start of the `optimized` mode).
    private var warmStarts: [String: Tensor] = [:]

    public typealias Penalty = LaCoOT.Penalty

    /// - Parameters:
    ///   - blocks: names of the blocks to regularize; nil = every collapsible block of `model`.
    ///   - tap: what is compared with each block's input; ``FeatureTap/mlpBranch`` needs a
    ///     transformer.
    public init(model: any CollapsibleModel, lambda: LambdaSchedule, distance: SlicedWasserstein = SlicedWasserstein(),
                blocks: [String]? = nil, tap: FeatureTap = .output, seed: UInt64 = 0) throws {
        guard tap == .output || model.architecture.kind.hasMLPBranches else {
            let transformers = ModelRegistry.names { $0.family.hasMLPBranches }.joined(separator: ", ")
            throw ConfigurationError.outOfRange(
                flag: "tap", problem: "mlp-branch needs blocks with an MLP branch (\(transformers)), not \(model.architecture.kind.rawValue)")
        }
        try lambda.validate()
        guard distance.projectionCount >= 1 else {
            throw ConfigurationError.outOfRange(flag: "projections", problem: "must be at least 1, got \(distance.projectionCount)")
        }
        let all = model.collapsibleBlockNames
        let chosen = blocks ?? all
        for name in chosen where !all.contains(name) {
            throw ConfigurationError.unknownBlock(flag: "blocks", block: name, collapsible: all)
        }
        guard !chosen.isEmpty else { throw ConfigurationError.nothingSelected(flag: "blocks") }
        self.policy = .schedule(lambda)
        self.distance = distance
        self.blocks = chosen
        self.selected = Set(chosen)
        self.tap = tap
        self.seed = seed
        self.generator = try Generator(seed: seed)
    }

    public convenience init(model: any CollapsibleModel, lambda: Double, distance: SlicedWasserstein = SlicedWasserstein(),
                            blocks: [String]? = nil, tap: FeatureTap = .output, seed: UInt64 = 0) throws {
        try self.init(model: model, lambda: .constant(lambda), distance: distance, blocks: blocks, tap: tap, seed: seed)
    }

    /// The penalty for the block events of one forward pass at fractional epoch `epoch`, with
    /// the policy's weights then. With λ = 0 nothing is computed unless `measureWhenOff` (then
    /// the distances are measured without a graph, for logging).
    public func penalty(_ events: [BlockEvent], epoch: Double, measureWhenOff: Bool = false) throws -> Penalty {
        try penalty(events, weights: policy.weights(atEpoch: epoch), measureWhenOff: measureWhenOff)
    }

    /// The penalty with a weight per block (``AdaptiveLambda/weights``):
    /// Σ_b λ_b · MSW_b / (number of blocks with λ_b > 0). Blocks with λ_b = 0, or absent from
    /// `weights`, are not measured. With every λ_b equal to λ this is the fixed-λ penalty.
    /// ``Penalty/lambda`` is the mean weight of the blocks measured.
    public func penalty(_ events: [BlockEvent], weights: [String: Double]) throws -> Penalty {
        try penalty(events, weights: .perBlock(weights, lambda: 0))
    }

    /// The penalty with the step's weights: uniform, λ · mean over blocks of the distance;
    /// per block, Σ_b λ_b · MSW_b over the blocks with λ_b > 0, divided by their number.
    public func penalty(_ events: [BlockEvent], weights: BlockWeights) throws -> Penalty {
        try penalty(events, weights: weights, measureWhenOff: false)
    }

    private func penalty(_ events: [BlockEvent], weights: BlockWeights, measureWhenOff: Bool) throws -> Penalty {
        switch weights {
        case .uniform(let weight): return try uniformPenalty(events, weight: weight, measureWhenOff: measureWhenOff)
        case .perBlock(let perBlock, _): return try perBlockPenalty(events, weights: perBlock)
        }
    }

    /// λ · mean over the regularized blocks of the distance.
    private func uniformPenalty(_ events: [BlockEvent], weight: Double, measureWhenOff: Bool) throws -> Penalty {
        let used = events.filter { selected.contains($0.name) }
        if weight == 0 || used.isEmpty {
            var values: [BlockDistance] = []
            if measureWhenOff {
                values = try withNoGrad {
                    try used.map { BlockDistance(block: $0.name, distance: try measure($0).item()) }
                }
            }
            return Penalty(loss: try Tensor.scalar(0), lambda: weight, distances: values)
        }
        let (total, values) = try weightedSum(used) { _ in nil }
        let loss = try total * (weight / Double(used.count))
        return Penalty(loss: loss, lambda: weight, distances: values)
    }

    /// Σ_b λ_b · MSW_b / (number of regularized blocks with λ_b > 0).
    private func perBlockPenalty(_ events: [BlockEvent], weights: [String: Double]) throws -> Penalty {
        let used = events.filter { selected.contains($0.name) && (weights[$0.name] ?? 0) > 0 }
        guard !used.isEmpty else { return Penalty(loss: try Tensor.scalar(0), lambda: 0, distances: []) }
        let (total, values) = try weightedSum(used) { weights[$0] }
        let meanWeight = used.map { weights[$0.name]! }.reduce(0, +) / Double(used.count)
        return Penalty(loss: try total * (1 / Double(used.count)), lambda: meanWeight, distances: values)
    }

    /// Σ over `used` (not empty) of each block's distance, times its weight when `weight` gives
    /// one, in the graph; with the detached distances in forward order.
    private func weightedSum(_ used: [BlockEvent], weight: (String) -> Double?) throws -> (Tensor, [BlockDistance]) {
        var total: Tensor?
        var values: [BlockDistance] = []
        for event in used {
            let d = try measure(event)
            values.append(BlockDistance(block: event.name, distance: try d.item()))
            let term = try weight(event.name).map { try d * $0 } ?? d
            total = try total.map { try $0 + term } ?? term
        }
        return (total!, values)
    }

    /// The distance between one block's input batch and its tapped features (``tap``).
    /// Always in float32: under bf16 mixed precision the block features arrive in bfloat16 and
    /// are widened (the cast is differentiable), and autocast is off for the projections.
    func measure(_ event: BlockEvent) throws -> Tensor {
        guard let tapped = event.features(tap) else { throw CollapseError.noFeatures(block: event.name, tap: tap.rawValue) }
        guard event.input.shape == tapped.shape else {
            throw CollapseError.blockChangesShape(block: event.name, input: event.input.shape, output: tapped.shape)
        }
        let input = event.input.dtype == .float32 ? event.input : try event.input.to(.float32)
        let output = tapped.dtype == .float32 ? tapped : try tapped.to(.float32)
        let result = try withFullPrecision(device: input.device) {
            try distance(input, output, generator: generator, warmStart: warmStarts[event.name])
        }
        if distance.mode == .optimized, let direction = result.direction {
            warmStarts[event.name] = direction
        }
        return result.distance
    }

    /// The direction generator, saved as "regularizer".
    public var checkpointGenerators: [String: Generator] { ["regularizer": generator] }

    /// State to checkpoint: the optimized distance's warm-start direction per block ("warm_start.<block>",
    /// copies); empty in the other modes.
    public func carriedTensors() throws -> [NamedTensor] {
        try warmStarts.sorted { $0.key < $1.key }.map { ("warm_start." + $0.key, try $0.value.detach().clone()) }
    }

    /// Restores ``carriedTensors()``; a name that is no regularized block is an error.
    public func restoreCarriedTensors(_ tensors: [NamedTensor]) throws {
        var restored: [String: Tensor] = [:]
        for (name, tensor) in tensors {
            let block = name.hasPrefix("warm_start.") ? String(name.dropFirst(11)) : ""
            guard selected.contains(block) else {
                throw ConfigurationError.outOfRange(flag: "checkpoint", problem: "regularizer state \"\(name)\" names no regularized block")
            }
            restored[block] = tensor
        }
        warmStarts = restored
    }
}
