import Datasets
import Foundation
import LacootRecords
import Logging
import Models
import NN
import Torch

extension RemovalOrder {
    /// The blocks (given in forward order) sorted for removal.
    public func arrange(_ blocks: [String], distances: [BlockDistance], seed: UInt64 = 0) throws -> [String] {
        switch self {
        case .given:
            return blocks
        case .deepestFirst:
            return blocks.reversed()
        case .random:
            var rng = SeededGenerator(seed: seed)
            return blocks.shuffled(using: &rng)
        case .ranked, .reverse:
            var score: [String: Double] = [:]
            for d in distances { score[d.block] = d.distance }
            for b in blocks where score[b] == nil {
                throw CollapseError.missingDistance(block: b)
            }
            // ties keep forward order
            let indexed = blocks.enumerated().map { ($0.offset, $0.element, score[$0.element] ?? 0) }
            let sorted = indexed.sorted { a, b in
                if a.2 != b.2 { return self == .ranked ? a.2 < b.2 : a.2 > b.2 }
                return a.0 < b.0
            }
            return sorted.map(\.1)
        }
    }
}

/// Which blocks to remove.
public enum CollapsePolicy: Sendable, Equatable {
    /// The first K blocks of the removal order.
    case remove(Int)
    /// Remove in order while validation accuracy stays within X points of the full model's.
    case maxAccuracyDrop(Double)
    /// Exactly these blocks.
    case blocks([String])
}

/// What a collapse did: blocks removed and the figures before → after.
public struct CollapseOutcome: Sendable, CustomStringConvertible {
    public var removed: [String]
    public var order: [String]
    public var distances: [BlockDistance]
    public var before: ModelMeasurement
    public var after: ModelMeasurement
    /// Validation accuracy after each tentative removal (max-drop policy), in percent.
    public var validationTrace: [(block: String, accuracy: Double, kept: Bool)]

    public var description: String {
        func m(_ x: Int) -> String { String(format: "%.2f M", Double(x) / 1e6) }
        var lines = ["blocks removed: " + (removed.isEmpty ? "none" : removed.joined(separator: ", "))]
        lines.append(String(format: "accuracy: %.2f %% → %.2f %%", before.accuracy, after.accuracy))
        lines.append("params:   \(m(before.params)) → \(m(after.params))")
        lines.append("MACs:     \(m(before.macs)) → \(m(after.macs))"
                     + String(format: " (%.2f× fewer)", Double(before.macs) / Double(max(after.macs, 1))))
        if let a = before.latencyB1Ms, let b = after.latencyB1Ms {
            lines.append(String(format: "latency (batch 1): %.2f ms → %.2f ms", a, b))
        }
        if let a = before.latencyB128Ms, let b = after.latencyB128Ms {
            lines.append(String(format: "latency (batch 128): %.1f ms → %.1f ms", a, b))
        }
        return lines.joined(separator: "\n")
    }
}

/// Collapses the blocks of a trained model into the identity, with no finetuning.
///
/// ```swift
/// let outcome = try Collapser(model: model, normalization: .fashionMNIST)
///     .collapse(policy: .maxAccuracyDrop(1.0), validation: split.validation, test: testSet)
/// print(outcome)   // blocks removed, accuracy, params, MACs, latency: before → after
/// ```
public final class Collapser {
    public let model: any CollapsibleModel
    public let normalization: Normalization
    public var distance: SlicedWasserstein
    /// The features scored against each block's input (the block's output by default).
    public var tap: FeatureTap = .output
    public var seed: UInt64
    public var evaluationBatchSize = 256
    /// Measure latency (batch 1 and 128) before and after.
    public var measureLatency = true
    public var latencyRepeats = 20
    public var showProgress = false
    /// The arithmetic of the accuracy and latency passes (the model's device and layout are its own).
    public var precision: Precision = .fp32

    public init(model: any CollapsibleModel, normalization: Normalization,
                distance: SlicedWasserstein = SlicedWasserstein(), seed: UInt64 = 0) {
        self.model = model
        self.normalization = normalization
        self.distance = distance
        self.seed = seed
    }

    /// Scores the active blocks on `validation` (eval mode, no augmentation).
    public func score(on validation: ImageDataset) throws -> [BlockDistance] {
        try Evaluation.blockDistances(of: model, on: validation, normalization: normalization, distance: distance,
                                      tap: tap, seed: seed, progress: showProgress)
    }

    /// Measures accuracy on `dataset`, MACs, parameters and (optionally) latency of the model now,
    /// MACs and latency at the dataset's image size; latency of its inference copy
    /// (``inferenceCopy(of:inputShape:layout:)``), the network `predict` runs.
    /// Latency comes first, while nothing else of the process runs (no loader thread yet).
    /// `knownAccuracy` skips the accuracy pass when the caller knows it (a removal that changes
    /// no logit).
    public func measure(on dataset: ImageDataset, knownAccuracy: Double? = nil) throws -> ModelMeasurement {
        // the dataset's image size, which an ImageNet-stem model fine-tuned on 32×32 images differs from its nominal 224
        let cost = try model.cost(height: dataset.height, width: dataset.width)
        let inputShape = dataset.imageShape
        var b1: Evaluation.LatencyStats?
        var b128: Evaluation.LatencyStats?
        if measureLatency {
            // timed as predict and export run it: BatchNorm folded, in the model's layout
            let timed = try Collapser.inferenceCopy(of: model, inputShape: inputShape, layout: model.memoryFormat)
            b1 = try Evaluation.latencyStats(of: timed, inputShape: inputShape, batchSize: 1,
                                             precision: precision, repeats: latencyRepeats)
            b128 = try Evaluation.latencyStats(of: timed, inputShape: inputShape, batchSize: 128,
                                               precision: precision, repeats: max(3, latencyRepeats / 4))
        }
        let accuracy = try knownAccuracy ?? Evaluation.accuracy(of: model, on: dataset, normalization: normalization,
                                                                batchSize: evaluationBatchSize, precision: precision)
        var m = ModelMeasurement(accuracy: accuracy, macs: cost.totalMACs, params: model.parameterCount,
                                 latencyB1Ms: b1?.medianMs, latencyB128Ms: b128?.medianMs)
        m.latencyB1SpreadMs = b1.map { [$0.p10Ms, $0.p90Ms] }
        m.latencyB128SpreadMs = b128.map { [$0.p10Ms, $0.p90Ms] }
        return m
    }

    /// Applies `policy` in `order` and measures before and after on `test` (or on
    /// `validation` when no test set is given). `distances` skips scoring when given.
    public func collapse(policy: CollapsePolicy, order: RemovalOrder = .ranked, validation: ImageDataset,
                         test: ImageDataset? = nil, distances given: [BlockDistance]? = nil) throws -> CollapseOutcome {
        let active = model.activeBlockNames
        var distances = given ?? []
        if given == nil, order == .ranked || order == .reverse || policy.needsScores {
            distances = try score(on: validation)
        }
        let arranged = try order.arrange(active, distances: distances, seed: seed)
        let target = test ?? validation
        let before = try measure(on: target)
        var removed: [String] = []
        var trace: [(block: String, accuracy: Double, kept: Bool)] = []
        switch policy {
        case let .remove(k):
            guard k >= 0, k <= active.count else {
                throw CollapseError.cannotRemove(count: k, active: active.count)
            }
            removed = Array(arranged.prefix(k))
            try model.collapse(removed)
        case let .blocks(names):
            try model.collapse(names)
            removed = names
        case let .maxAccuracyDrop(limit):
            guard limit >= 0 else { throw ConfigurationError.outOfRange(flag: "max-drop", problem: "must be ≥ 0, got \(limit)") }
            let reference = try Evaluation.accuracy(of: model, on: validation, normalization: normalization,
                                                    batchSize: evaluationBatchSize)
            for block in arranged {
                let previous = try model.replace(block, with: Identity())
                let accuracy = try Evaluation.accuracy(of: model, on: validation, normalization: normalization,
                                                       batchSize: evaluationBatchSize)
                logger.debug("\(block): validation accuracy \(accuracy) % (full \(reference) %, limit \(limit) points)",
                          metadata: ["kept": "\(reference - accuracy <= limit)"])
                if reference - accuracy <= limit {
                    removed.append(block)
                    trace.append((block, accuracy, true))
                } else {
                    _ = try model.replace(block, with: previous)
                    trace.append((block, accuracy, false))
                    break   // removal is cumulative in ranked order: stop at the first block that costs too much
                }
            }
        }
        let after = try measure(on: target)
        logger.info("collapsed \(removed.count) of \(active.count) blocks: \(removed.joined(separator: ", "))")
        return CollapseOutcome(removed: removed, order: arranged, distances: distances, before: before, after: after,
                               validationTrace: trace)
    }

    /// The cumulative removal curve in `order`: after each removal, test accuracy, MACs,
    /// parameters and (optionally) latency. Leaves every block of the curve collapsed.
    public func curve(order arranged: [String], test: ImageDataset,
                      progress: ((CurveStep) -> Void)? = nil) throws -> [CurveStep] {
        var removed: [String] = []
        var steps: [CurveStep] = []
        for block in arranged {
            try model.collapse(block)
            removed.append(block)
            let m = try measure(on: test)
            let step = CurveStep(removed: removed, measured: m)
            steps.append(step)
            progress?(step)
        }
        return steps
    }
}

extension Collapser {
    /// A fresh model with the same architecture, collapsed blocks, weights, residual scales and
    /// memory layout (collapse one copy per removal order, keep the original).
    public static func copy(of model: any CollapsibleModel) throws -> any CollapsibleModel {
        let copy = try model.manifest.build()
        let report = try copy.load(stateDict: model.stateDict(), strict: true)
        guard report.isClean else { throw CollapseError.copyMismatch(report: report.description) }
        for (block, scale) in model.residualScales { try copy.setResidualScale(scale, of: block) }
        if model.memoryFormat != .contiguous { try copy.setMemoryFormat(model.memoryFormat) }
        try copy.to(model.device)
        return copy
    }
}

extension CollapsePolicy {
    var needsScores: Bool {
        if case .blocks = self { return false }
        return true
    }
}
