import Datasets
import Foundation
import LaCoOT
import LacootRecords
import LacootSupport
import Models
import NN
import Torch

/// One run that reaches a removal target: trains with per-block λ adapted toward it
/// (``AdaptiveLambda``), then removes the chosen blocks within an accuracy budget and
/// re-estimates the BatchNorm statistics — a statistics pass, no finetuning.
///
/// ```swift
/// var config = TrainingConfig()
/// config.epochs = 5
/// config.regularizer.adaptiveLambda = AdaptiveLambda.Settings()   // target: ≤ 50 % of the MACs
/// let trainer = try Trainer(model: model, config: config, normalization: data.normalization)
/// let outcome = try Compressor(trainer: trainer).compress(data: data)
/// print(outcome.compressed.accuracy, outcome.removed)
/// ```
///
/// Pretrained weights (blocks far from the identity): start from `compress`'s defaults for
/// them — the identity path, selection by ablation, chosen at 5 % of the steps and gone by 30 %
/// (a transformer's at 2 % and 15 %) — and optionally distillation, from the model frozen at the
/// selection or a teacher of your own:
///
/// ```swift
/// config.regularizer.adaptiveLambda = .compressDefaults(for: .trainedConvolutional)   // or .trainedTransformer
/// // the same as: identityPath = IdentityPath() (chosen blocks fade to scale 0),
/// // selection = .ablation (ranked by the cost of bypassing each), selectionFraction 0.05, reachFraction 0.3
/// // (.trainedTransformer: 0.02, 0.15)
/// config.regularizer.distillation = Distillation(weight: 1, temperature: 2)
/// trainer.teacher = fineTuned                                 // optional; default: the model at the selection
/// ```
///
/// In a loop of your own, the same parts: before each step set every block's scale,
/// `try model.setResidualScale(adaptive.residualScale(of: block), of: block)`; add
/// `regularizer.penalty(events, weights: adaptive.weights).loss` (and `distillation.loss(student:teacher:)`)
/// to the loss; after it `adaptive.observe(penalty.distances)` and, when `adaptive.selectionDue`,
/// `adaptive.select(blockMACs:fullMACs:removalCosts:)` (the costs: `trainer.removalCosts` measures
/// them; nil ranks by distance); at the end the chosen blocks are at scale 0 and
/// `try model.collapse(adaptive.selected)` removes them without changing a logit.
public final class Compressor {
    public let trainer: Trainer
    /// Remove a block only while validation accuracy stays within this many points of the full
    /// model's.
    public var maxDrop: Double = 1
    /// Re-estimate the BatchNorm statistics after each removal (on training images), kept where
    /// they do at least as well on the acceptance images as the statistics before.
    public var reestimateBatchNorm = true
    /// Training images the re-estimation averages over.
    public var reestimationImages = 4_096
    /// Images a removal's accuracy cost is measured on: the validation split, topped up with
    /// the first training images (no augmentation) when it has fewer. On a small validation
    /// split one image is a large share of a point; the comparison is paired (the same images
    /// before and after), so more images measure the change with less noise.
    public var acceptanceImages = 4_096
    public var measureLatency = false
    public var showProgress = false
    /// Receives progress lines (default: nothing).
    public var log: (String) -> Void = { _ in }

    public init(trainer: Trainer) {
        self.trainer = trainer
    }

    /// What a compression produced.
    public struct Outcome: Sendable {
        public var full: ModelMeasurement
        /// The compressed model, with BatchNorm re-estimated when ``Compressor/reestimateBatchNorm``.
        public var compressed: ModelMeasurement
        /// The same blocks removed without the re-estimation (test accuracy).
        public var compressedWithoutReestimation: ModelMeasurement
        public var removed: [String]
        /// Blocks tried and kept because removing them cost more than the budget.
        public var rejected: [String]
        /// Validation distances of the candidates after training (their removal order).
        public var distances: [BlockDistance]
        /// Each block's λ at the end of training (0 = released by the selection).
        public var lambdaFinal: [String: Double]
        /// The cumulative removal curve: accuracy without and with the re-estimation per step.
        public var curve: [CurveStep]
        public var history: [EpochMetrics]
    }

    /// Trains on `data` (or resumes from `runFolder`), then compresses. The model is left
    /// collapsed, with its BatchNorm statistics re-estimated when asked.
    public func compress(data: PreparedData, runFolder: RunFolder? = nil, runConfig: RunConfig? = nil,
                         resume: Bool = false) throws -> Outcome {
        let history = try trainer.fit(train: data.train, validation: data.validation, runFolder: runFolder,
                                      runConfig: runConfig, resume: resume)
        var outcome = try collapse(data: data)
        outcome.history = history
        return outcome
    }

    /// Removes the regularized blocks of the trained model (every collapsible block without an
    /// adaptive λ) in order of validation distance, each kept out only when accuracy on the
    /// acceptance images (``acceptanceImages``) — after re-estimating the BatchNorm
    /// statistics — stays within ``maxDrop`` points of the full model's; a block that costs more
    /// is put back and the next one tried. Blocks the identity path brought to residual scale 0
    /// are the identity already: they go first, without a measurement (one re-estimation for all).
    public func collapse(data: PreparedData) throws -> Outcome {
        let model = trainer.model
        let candidates = trainer.adaptive?.selected ?? trainer.regularizer.blocks
        let config = trainer.config
        let distances = try Evaluation.blockDistances(of: model, on: data.validation, normalization: data.normalization,
                                                      distance: config.slicedWasserstein, tap: config.regularizer.tap, seed: config.seed)
            .filter { candidates.contains($0.block) }
        let order = try RemovalOrder.ranked.arrange(candidates, distances: distances)
        let plain = try Collapser.copy(of: model)   // the trained model, for the curve without re-estimation
        let collapser = Collapser(model: model, normalization: data.normalization)
        collapser.measureLatency = measureLatency
        let full = try collapser.measure(on: data.test)
        let pool = try acceptancePool(data)
        let reference = try accuracy(on: pool, data)

        // blocks the identity path brought to scale 0 are the identity already: removing them changes no logit
        let scales = model.residualScales
        let exact = order.filter { scales[$0] == 0 }
        var removed: [String] = [], rejected: [String] = []
        var testAccuracyReestimated: [Double?] = []   // per kept removal: this model, statistics re-estimated
        for block in exact {
            _ = try model.replace(block, with: Identity())
            log("remove \(block): residual scale 0, exactly the identity → removed")
            removed.append(block)
            testAccuracyReestimated.append(nil)
        }
        if !exact.isEmpty, reestimateBatchNorm {
            // one re-estimation for all of them, kept where it does at least as well
            let before = try BatchNormReestimation.snapshot(of: model)
            try reestimate(model, data)
            if try accuracy(on: pool, data) >= reference {
                testAccuracyReestimated[testAccuracyReestimated.count - 1] = try accuracy(on: data.test, data)
            } else {
                try BatchNormReestimation.restore(before, in: model)
            }
        }
        for block in order where !exact.contains(block) {
            if try tryRemoving(block, pool: pool, reference: reference, data) {
                removed.append(block)
                testAccuracyReestimated.append(reestimateBatchNorm ? try accuracy(on: data.test, data) : nil)
            } else {
                rejected.append(block)
            }
        }
        // the last kept removal measured this very model on the test set (later tries were undone)
        let known = removed.isEmpty ? full.accuracy : testAccuracyReestimated.last ?? nil
        let compressed = try collapser.measure(on: data.test, knownAccuracy: known)
        let (curve, withoutReestimation) = try removalCurve(of: plain, removing: removed, exact: Set(exact), from: full,
                                                            reestimated: testAccuracyReestimated, data)
        return Outcome(full: full, compressed: compressed, compressedWithoutReestimation: withoutReestimation,
                       removed: removed, rejected: rejected, distances: order.compactMap { b in distances.first { $0.block == b } },
                       lambdaFinal: trainer.adaptive?.weights ?? Dictionary(uniqueKeysWithValues: candidates.map { ($0, config.regularizer.lambda) }),
                       curve: curve, history: [])
    }

    /// Replaces `block` by the identity (re-estimating the BatchNorm statistics where that does
    /// better) and keeps it out when accuracy on `pool` stays within ``maxDrop`` of `reference`;
    /// otherwise puts the block and the statistics back. Returns whether it was removed.
    private func tryRemoving(_ block: String, pool: ImageDataset, reference: Double, _ data: PreparedData) throws -> Bool {
        let model = trainer.model
        let saved = try BatchNormReestimation.snapshot(of: model)   // the statistics before this try
        let previous = try model.replace(block, with: Identity())
        var accuracy = try accuracy(on: pool, data)
        if reestimateBatchNorm {
            // re-estimated statistics are kept only where they do better on the acceptance images
            let before = try BatchNormReestimation.snapshot(of: model)
            try reestimate(model, data)
            let reestimated = try self.accuracy(on: pool, data)
            if reestimated >= accuracy { accuracy = reestimated } else { try BatchNormReestimation.restore(before, in: model) }
        }
        let kept = reference - accuracy <= maxDrop
        log(String(format: "remove %@: %.2f %% on %d held-out and training images (full %.2f %%) → %@", block, accuracy,
                   pool.count, reference, kept ? "removed" : "kept, costs more than \(maxDrop) points"))
        if !kept {
            _ = try model.replace(block, with: previous)
            try BatchNormReestimation.restore(saved, in: model)
        }
        return kept
    }

    /// The cumulative removal curve without re-estimation, on the test images: `removed` taken
    /// out of `plain` one by one. A block in `exact` (residual scale 0) changes no logit, so its
    /// step keeps the previous accuracy and only its cost is measured again. Also returns the
    /// last step's measurement (the full model's when nothing was removed).
    private func removalCurve(of plain: any CollapsibleModel, removing removed: [String], exact: Set<String>,
                              from full: ModelMeasurement, reestimated: [Double?],
                              _ data: PreparedData) throws -> (curve: [CurveStep], last: ModelMeasurement) {
        var curve: [CurveStep] = []
        let stepper = Collapser(model: plain, normalization: data.normalization)
        stepper.measureLatency = measureLatency
        var previous = full
        for (k, block) in removed.enumerated() {
            try plain.collapse(block)
            previous = try stepper.measure(on: data.test, knownAccuracy: exact.contains(block) ? previous.accuracy : nil)
            var step = CurveStep(removed: Array(removed.prefix(k + 1)), measured: previous)
            step.accuracyBNRecalibrated = reestimated[k]
            curve.append(step)
        }
        return (curve, previous)
    }

    private func accuracy(on images: ImageDataset, _ data: PreparedData) throws -> Double {
        try Evaluation.accuracy(of: trainer.model, on: images, normalization: data.normalization)
    }

    /// The validation split, topped up with training images to ``acceptanceImages`` (the first
    /// ones, or drawn at random where the images are grouped by class).
    func acceptancePool(_ data: PreparedData) throws -> ImageDataset {
        let missing = min(acceptanceImages - data.validation.count, data.train.count)
        guard missing > 0 else { return data.validation }
        // images grouped by class (folders): a random subset of the training images, not the first classes
        return try data.validation.appending(try data.train.limited(to: missing), name: "validation + training images")
    }

    private func reestimate(_ model: any CollapsibleModel, _ data: PreparedData) throws {
        guard reestimateBatchNorm else { return }
        try BatchNormReestimation.run(on: model, images: data.train, normalization: data.normalization,
                                      maxImages: reestimationImages)
    }
}
