import Foundation
import NN

/// A learning-rate schedule as a pure function of a step count `t` (epochs or iterations —
/// whatever the caller advances it by), with PyTorch's closed forms.
public indirect enum LRSchedule: Codable, Hashable, Sendable {
    /// The base rate throughout.
    case constant
    /// `MultiStepLR`: base · γ^(number of milestones ≤ t). The reference uses milestones
    /// [80, 120], γ = 0.1, stepped once per epoch.
    case multiStep(milestones: [Int], gamma: Double)
    /// `CosineAnnealingLR` over `total` steps: minimum + (base − minimum)(1 + cos(π t / total)) / 2,
    /// held at `minimum` after `total`.
    case cosine(total: Int, minimum: Double)
    /// `LinearLR` warm-up from base · `startFactor` to base over `steps`, then `then` (run with
    /// t − steps, as `SequentialLR` does).
    case linearWarmup(steps: Int, startFactor: Double, then: LRSchedule)

    /// The learning rate at step `t` for a base rate.
    public func learningRate(base: Double, at t: Int) -> Double {
        switch self {
        case .constant:
            return base
        case let .multiStep(milestones, gamma):
            let passed = milestones.filter { $0 <= t }.count
            return base * pow(gamma, Double(passed))
        case let .cosine(total, minimum):
            guard total > 0 else { return minimum }
            let c = Double(Swift.min(Swift.max(t, 0), total))
            return minimum + (base - minimum) * (1 + cos(Double.pi * c / Double(total))) / 2
        case let .linearWarmup(steps, startFactor, then):
            if t < steps {
                let f = startFactor + (1 - startFactor) * Double(Swift.max(t, 0)) / Double(steps)
                return base * f
            }
            return then.learningRate(base: base, at: t - steps)
        }
    }

    /// Checks the parameters (positive totals, ordered milestones, factors in (0, 1]).
    public func validate() throws {
        switch self {
        case .constant: break
        case let .multiStep(milestones, gamma):
            guard milestones == milestones.sorted(), milestones.allSatisfy({ $0 > 0 }), gamma > 0, gamma.isFinite else {
                throw NNError("multi-step schedule needs increasing positive milestones and γ > 0, got \(milestones), \(gamma)")
            }
        case let .cosine(total, minimum):
            guard total > 0, minimum >= 0 else { throw NNError("cosine schedule needs total > 0 and minimum ≥ 0, got \(total), \(minimum)") }
        case let .linearWarmup(steps, startFactor, then):
            guard steps > 0, startFactor > 0, startFactor <= 1 else {
                throw NNError("warm-up needs steps > 0 and a start factor in (0, 1], got \(steps), \(startFactor)")
            }
            try then.validate()
        }
    }
}

/// Applies an ``LRSchedule`` to an optimizer: `step()` advances one unit (call it once per
/// epoch or once per iteration, consistently) and sets the optimizer's rate.
///
/// ```swift
/// let scheduler = try LRScheduler(.multiStep(milestones: [80, 120], gamma: 0.1), optimizer: sgd)
/// for epoch in 0..<160 { try train(epoch); scheduler.step() }
/// ```
public final class LRScheduler {
    /// Saved in checkpoints.
    public struct State: Codable, Hashable, Sendable {
        public var schedule: LRSchedule
        public var baseLearningRate: Double
        public var position: Int
    }

    public let schedule: LRSchedule
    public let baseLearningRate: Double
    public let optimizer: any Optimizer
    /// Number of `step()` calls so far.
    public private(set) var position = 0

    /// Takes the optimizer's current rate as the base and sets the rate for step 0.
    public init(_ schedule: LRSchedule, optimizer: any Optimizer) throws {
        try schedule.validate()
        self.schedule = schedule
        self.optimizer = optimizer
        self.baseLearningRate = optimizer.learningRate
        optimizer.learningRate = schedule.learningRate(base: baseLearningRate, at: 0)
    }

    public var learningRate: Double { schedule.learningRate(base: baseLearningRate, at: position) }

    public func step() {
        position += 1
        optimizer.learningRate = learningRate
    }

    public var state: State { State(schedule: schedule, baseLearningRate: baseLearningRate, position: position) }

    /// Restores a saved position (the schedule and base rate must be the same).
    public func load(state: State) throws {
        guard state.schedule == schedule, state.baseLearningRate == baseLearningRate else {
            throw NNError("saved schedule \(state.schedule) (base \(state.baseLearningRate)) differs from this one \(schedule) (base \(baseLearningRate))")
        }
        guard state.position >= 0 else { throw NNError("saved schedule position must be ≥ 0, got \(state.position)") }
        position = state.position
        optimizer.learningRate = learningRate
    }
}
