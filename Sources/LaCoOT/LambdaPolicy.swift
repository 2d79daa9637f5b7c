/// The weight λ_b of every regularized block at a step — the one place λ(t) is computed.
///
/// One λ for every block, constant or ramped linearly from 0 (``LambdaSchedule``), or a λ per
/// block adapted toward a removal target (``AdaptiveLambda``, which the trainer feeds each
/// step's distances). A ``Regularizer`` owns its policy; the trainer asks it once per step:
/// ```swift
/// let weights = regularizer.policy.weights(atEpoch: 1.5)
/// let penalty = try regularizer.penalty(events, weights: weights)
/// ```
public enum LambdaPolicy: Sendable, Equatable {
    /// One λ for every block: constant, or ramped from 0 over the schedule's warm-up epochs.
    case schedule(LambdaSchedule)
    /// A λ per block, adapted toward a removal target.
    case adaptive(AdaptiveLambda)

    /// λ for every block from the first step (the reference).
    public static func constant(_ lambda: Double) -> LambdaPolicy { .schedule(.constant(lambda)) }

    /// λ growing linearly from 0 to `lambda` over the first `epochs` epochs, then constant.
    public static func ramp(to lambda: Double, overEpochs epochs: Double) -> LambdaPolicy {
        .schedule(LambdaSchedule(lambda: lambda, warmupEpochs: epochs))
    }

    /// Every block's weight at fractional epoch `epoch` (0 = the first step).
    public func weights(atEpoch epoch: Double) -> BlockWeights {
        switch self {
        case .schedule(let schedule): return .uniform(schedule.value(atEpoch: epoch))
        case .adaptive(let adaptive): return .perBlock(adaptive.weights, lambda: adaptive.meanLambda)
        }
    }

    /// The adaptive state (nil for a schedule).
    public var adaptive: AdaptiveLambda? {
        if case .adaptive(let state) = self { return state }
        return nil
    }
}

/// The blocks' weights at one step (``LambdaPolicy/weights(atEpoch:)``).
public enum BlockWeights: Sendable, Equatable {
    /// Every block weighs λ.
    case uniform(Double)
    /// A weight per block (absent: 0); `lambda` is the step's λ, the mean weight of the blocks
    /// still regularized (0 when none is).
    case perBlock([String: Double], lambda: Double)

    /// The step's λ: 0 means nothing is regularized, so the blocks need not be observed.
    public var lambda: Double {
        switch self {
        case .uniform(let value): return value
        case .perBlock(_, let lambda): return lambda
        }
    }

    /// Block `block`'s weight.
    public func weight(of block: String) -> Double {
        switch self {
        case .uniform(let value): return value
        case .perBlock(let weights, _): return weights[block] ?? 0
        }
    }
}
