/// How the regularizer's weight λ evolves during training.
///
/// The reference keeps λ constant from the first step. A strong λ from the start costs
/// accuracy on short budgets, so λ can also ramp linearly from 0 over the first epochs.
public struct LambdaSchedule: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The weight once any warm-up is over.
    public var lambda: Double
    /// Epochs over which λ grows linearly from 0 (0 = constant, as the reference).
    public var warmupEpochs: Double

    public init(lambda: Double, warmupEpochs: Double = 0) {
        self.lambda = lambda
        self.warmupEpochs = warmupEpochs
    }

    public static func constant(_ lambda: Double) -> LambdaSchedule { LambdaSchedule(lambda: lambda) }

    /// λ at a fractional epoch (0 = the first step; 1.5 = half-way through the second epoch).
    public func value(atEpoch epoch: Double) -> Double {
        guard warmupEpochs > 0 else { return lambda }
        return lambda * Swift.min(1, Swift.max(0, epoch / warmupEpochs))
    }

    /// The one rule for λ and its ramp, whoever builds the schedule (the configuration, a
    /// regularizer made by hand); errors name the CLI flag.
    public func validate() throws {
        guard lambda >= 0, lambda <= 1e6 else {
            throw ConfigurationError.outOfRange(flag: "lambda", problem: "must be a number in [0, 1e6], got \(lambda)")
        }
        guard warmupEpochs >= 0, warmupEpochs <= 100_000 else {
            throw ConfigurationError.outOfRange(flag: "lambda-warmup", problem: "must be ≥ 0, got \(warmupEpochs)")
        }
    }

    public var description: String {
        warmupEpochs > 0 ? "λ = \(lambda) (ramped over \(warmupEpochs) epochs)" : "λ = \(lambda)"
    }
}
