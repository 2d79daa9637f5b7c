import Foundation
import LacootRecords
import Models

/// Per-block regularization weights driven by a removal target instead of a hand-set λ.
///
/// Each regularized block b has its own weight λ_b. During the first `selectionFraction` of
/// the steps every block trains at `initialLambda` while its running (smoothed) training
/// distance d̄_b is recorded. Then each block gets a target path: from the distance it has
/// then down to ε, geometrically, reached at `reachFraction` of the steps and held after. From
/// there λ_b is adapted after every step by dual ascent in log space,
/// `λ_b ← clamp(λ_b · exp(rate · clamp(ln(d̄_b / target_b), −1, 1)), minimum, maximum)`:
/// it grows while the block lags behind its path and relaxes while ahead, so each block gets
/// the weight it needs, no more, and a block whose distance falls by itself is left alone.
/// `rate` lets λ_b change by a factor of `e` per `timeConstant` of the steps, whatever the budget.
///
/// With a MACs target, the selection also chooses the blocks cheapest to remove — the lowest
/// running distance per MAC saved — until removing them reaches the target; the others are
/// released (λ_b = 0) and train freely.
///
/// ```swift
/// var adaptive = AdaptiveLambda(blocks: model.collapsibleBlockNames, settings: .init(), totalSteps: 2_000)
/// let cost = try model.cost(height: 32, width: 32)
/// // each step:
/// let penalty = try regularizer.penalty(events, weights: adaptive.weights)
/// // ... loss = ce + penalty.loss; backward; optimizer step ...
/// adaptive.observe(penalty.distances)
/// if adaptive.selectionDue {
///     adaptive.select(blockMACs: Dictionary(uniqueKeysWithValues: adaptive.blocks.map { ($0, cost.macs(under: $0)) }),
///                     fullMACs: cost.totalMACs)
/// }
/// ```
public struct AdaptiveLambda: Codable, Sendable, Equatable {
    /// How the weights adapt (saved in the run's configuration).
    public struct Settings: Codable, Sendable, Equatable {
        /// The distance below which a block counts as removable.
        public var epsilon: Double = 0.02
        /// Every block's weight at the first step.
        public var initialLambda: Double = 0.5
        public var minimumLambda: Double = 0.01
        public var maximumLambda: Double = 5
        /// Share of the training steps over which λ_b can change by a factor of e (at most).
        public var timeConstant: Double = 0.08
        /// Share of the training steps at which every block should be within ε.
        public var reachFraction: Double = 0.8
        /// Weight of the past in the running distance (an exponential moving average per step).
        public var smoothing: Double = 0.9
        /// Keep at most this share of the full model's MACs (0.5 = at least 2× fewer); nil =
        /// regularize every block to the end.
        public var targetMACs: Double? = 0.5
        /// How far above `targetMACs` the MACs left may end and still count as reaching it, as a
        /// share of the target (nil = ``defaultTargetTolerance``, 1 %): when whole blocks leave
        /// 50.04 % of a 50 % target, one more block would cost accuracy for a hair of MACs.
        public var targetTolerance: Double?
        /// The tolerance used when `targetTolerance` is nil: 1 % of the target.
        public static let defaultTargetTolerance = 0.01
        /// Share of the training steps at `initialLambda` before the adaptation starts and the
        /// blocks to remove are chosen.
        public var selectionFraction: Double = 0.2
        /// The identity path (``IdentityPath``): after the selection, the residual branch of every
        /// block chosen for removal is scaled down from 1 to 0 by `reachFraction` of the steps.
        /// For blocks that start far from the identity (pretrained weights). nil = off.
        public var identityPath: IdentityPath?
        /// How the blocks to remove are ranked at the selection; nil = ``BlockSelection/distance``.
        public var selection: BlockSelection?

        public init() {}

        /// Whether a model with `macs` MACs left of `fullMACs` reaches the target (within the
        /// tolerance); true without a target.
        public func reachesTarget(macs: Double, fullMACs: Double) -> Bool {
            guard let targetMACs else { return true }
            return macs <= targetMACs * fullMACs * (1 + (targetTolerance ?? Self.defaultTargetTolerance)) + 0.5
        }

        /// Checks every field; errors name the CLI flag.
        public func validate() throws {
            func bad(_ flag: String, _ problem: String) -> ConfigurationError { .outOfRange(flag: flag, problem: problem) }
            guard epsilon > 0, epsilon.isFinite else { throw bad("epsilon", "must be a finite number > 0, got \(epsilon)") }
            guard minimumLambda > 0, maximumLambda <= 1e6, minimumLambda < maximumLambda else {
                throw bad("max-lambda", "needs 0 < minimum < maximum ≤ 1e6, got \(minimumLambda) and \(maximumLambda)")
            }
            guard initialLambda >= minimumLambda, initialLambda <= maximumLambda else {
                throw bad("initial-lambda", "must be in [\(minimumLambda), \(maximumLambda)], got \(initialLambda)")
            }
            guard timeConstant > 0, timeConstant <= 10 else { throw bad("time-constant", "must be in (0, 10], got \(timeConstant)") }
            guard smoothing >= 0, smoothing < 1 else { throw bad("smoothing", "must be in [0, 1), got \(smoothing)") }
            if let targetMACs, !(targetMACs > 0 && targetMACs <= 1) {
                throw bad("target-macs", "must be in (0, 1], got \(targetMACs)")
            }
            if let targetTolerance, !(targetTolerance >= 0 && targetTolerance <= 0.5) {
                throw bad("target-tolerance", "must be in [0, 0.5], got \(targetTolerance)")
            }
            guard selectionFraction >= 0, selectionFraction < reachFraction, reachFraction <= 1 else {
                throw bad("reach-at", "needs 0 ≤ --selection-at < --reach-at ≤ 1, got \(selectionFraction) and \(reachFraction)")
            }
        }
    }

    public let settings: Settings
    /// The blocks regularized at the start, in forward order.
    public let blocks: [String]
    /// λ_b of every block (0 once released).
    public private(set) var weights: [String: Double]
    /// The running (smoothed) training distance of each block still regularized.
    public private(set) var runningDistances: [String: Double] = [:]
    /// Blocks released by the selection (trained freely from then on).
    public private(set) var released: [String] = []
    /// Whether the blocks to remove have been chosen (and the adaptation started).
    public private(set) var selectionDone = false
    /// Each block's running distance when the adaptation started (its path's start).
    public private(set) var startDistances: [String: Double] = [:]
    /// Steps observed so far.
    public private(set) var steps = 0
    /// The log-space step at full signal.
    public let rate: Double
    /// The step after which the adaptation starts and the selection runs.
    public let selectionStep: Int
    /// The step from which every block's target is ε.
    public let reachStep: Int

    public init(blocks: [String], settings: Settings, totalSteps: Int) {
        self.settings = settings
        self.blocks = blocks
        weights = Dictionary(uniqueKeysWithValues: blocks.map { ($0, settings.initialLambda) })
        let steps = Double(max(totalSteps, 1))
        rate = 1 / max(1, settings.timeConstant * steps)
        selectionStep = max(1, Int((settings.selectionFraction * steps).rounded()))
        reachStep = max(selectionStep + 1, Int((settings.reachFraction * steps).rounded()))
    }

    /// Block `block`'s target distance now: on its path from its start distance to ε.
    public func target(of block: String) -> Double {
        guard let start = startDistances[block], start > settings.epsilon else { return settings.epsilon }
        let progress = min(1, Double(steps - selectionStep) / Double(reachStep - selectionStep))
        return start * pow(settings.epsilon / start, progress)
    }

    /// The factor on block `block`'s residual branch at the current step: 1 without an identity
    /// path, before the selection and for released blocks; on the path's curve from 1 at the
    /// selection to 0 at `reachStep` for the blocks chosen for removal, 0 after.
    public func residualScale(of block: String) -> Double {
        guard let path = settings.identityPath, selectionDone, (weights[block] ?? 0) > 0 else { return 1 }
        let progress = Double(steps - selectionStep) / Double(reachStep - selectionStep)
        return path.scale(atProgress: progress)
    }

    /// Sets every active block's residual scale in `model` to ``residualScale(of:)`` (nothing
    /// without an identity path).
    public func applyResidualScales(to model: any CollapsibleModel) throws {
        guard settings.identityPath != nil else { return }
        for block in blocks where model.activeBlockNames.contains(block) {
            try model.setResidualScale(residualScale(of: block), of: block)
        }
    }

    /// The blocks still regularized, in forward order.
    public var selected: [String] { blocks.filter { (weights[$0] ?? 0) > 0 } }

    /// The mean weight of the blocks still regularized (0 when none is).
    public var meanLambda: Double {
        let active = selected
        return active.isEmpty ? 0 : active.map { weights[$0]! }.reduce(0, +) / Double(active.count)
    }

    /// Whether the selection is due after the steps observed so far.
    public var selectionDue: Bool { !selectionDone && steps >= selectionStep }

    /// Updates the running distances and the weights with one step's distances.
    public mutating func observe(_ distances: [BlockDistance]) {
        defer { steps += 1 }
        for d in distances where (weights[d.block] ?? 0) > 0 && d.distance.isFinite {
            let previous = runningDistances[d.block] ?? d.distance
            let running = settings.smoothing * previous + (1 - settings.smoothing) * d.distance
            runningDistances[d.block] = running
            guard selectionDone else { continue }   // calibration: λ stays at its initial value
            let signal = min(1, max(-1, log(max(running, 1e-12) / target(of: d.block))))
            let next = weights[d.block]! * exp(rate * signal)
            weights[d.block] = min(settings.maximumLambda, max(settings.minimumLambda, next))
        }
    }

    /// Starts the adaptation (each block's path starts at its running distance) and chooses
    /// the blocks to remove: lowest running distance per MAC saved first (or, given
    /// `removalCosts`, lowest cost per MAC saved: see ``BlockSelection/ablation``), until the
    /// MACs left reach `targetMACs × fullMACs` (within `targetTolerance`); the rest are released.
    /// When even removing every block misses the target, every block stays. Returns the released blocks.
    @discardableResult
    public mutating func select(blockMACs: [String: Int], fullMACs: Int, removalCosts: [String: Double]? = nil) -> [String] {
        selectionDone = true
        startDistances = runningDistances
        guard settings.targetMACs != nil else { return [] }
        let order = selected
        let candidates = order.indices.sorted { i, j in
            let a = cheapness(order[i], blockMACs, removalCosts), b = cheapness(order[j], blockMACs, removalCosts)
            return a != b ? a < b : i < j   // ties keep forward order
        }.map { order[$0] }
        var left = Double(fullMACs)
        var kept: Set<String> = []
        for block in candidates where !settings.reachesTarget(macs: left, fullMACs: Double(fullMACs)) {
            kept.insert(block)
            left -= Double(blockMACs[block] ?? 0)
        }
        let freed = selected.filter { !kept.contains($0) }
        for block in freed {
            weights[block] = 0
            runningDistances[block] = nil
        }
        released += freed
        return freed
    }

    /// Running distance (or removal cost) per MAC saved (lower = cheaper to remove); blocks
    /// never measured last.
    private func cheapness(_ block: String, _ macs: [String: Int], _ removalCosts: [String: Double]?) -> Double {
        guard let d = removalCosts.map({ $0[block] }) ?? runningDistances[block] else { return .infinity }
        return d / Double(max(macs[block] ?? 1, 1))
    }
}
