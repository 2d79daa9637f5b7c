import Datasets
import Foundation
import Logging
import LaCoOT
import LacootRecords
import LacootSupport
import Models
import NN
import Optim
import Torch

/// Trains a collapsible model with cross-entropy + LaCoOT's regularizer.
///
/// ```swift
/// var config = TrainingConfig()
/// config.epochs = 10
/// config.regularizer.lambda = 5
/// let trainer = try Trainer(model: model, config: config, normalization: .fashionMNIST)
/// let history = try trainer.fit(train: split.train, validation: split.validation)
/// ```
/// After each epoch it records the loss split into its two parts, train and validation
/// accuracy and the validation distance of every block; with a run folder it writes a
/// checkpoint (atomically) and `metrics.jsonl`, and `resume: true` continues from them.
public final class Trainer {
    public let model: any CollapsibleModel
    public let config: TrainingConfig
    /// The training term: LaCoOT's max-sliced Wasserstein from the configuration, or the one
    /// given to `init`. Its ``Regularizer/policy`` gives each block's λ at each step.
    public let regularizer: any Regularizer
    public let optimizer: any Optimizer
    public let normalization: Normalization
    /// Show progress lines on stderr.
    public var showProgress = true
    /// Receives one line per epoch and notable events (default: stderr).
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    /// Checked after every step: once cancelled, the trainer finishes the step, writes a
    /// checkpoint (with a run folder) and throws ``TrainingError/interrupted(epoch:step:checkpoint:)``.
    public var cancellation: CancellationToken?
    /// Called after each epoch with its metrics.
    public var onEpoch: ((EpochMetrics) throws -> Void)?
    /// Called after each optimization step with its result (before the cancellation check).
    public var onStep: ((StepResult) -> Void)?
    /// Measure the validation distances after each epoch (a validation pass per epoch).
    public var scoreEveryEpoch = true
    /// Batch size of the validation passes.
    public var evaluationBatchSize = 256

    /// Where the model, its batches and the optimizer state live.
    public let device: Device
    /// The per-block weights when the configuration asks for an adaptive λ (`fit` creates it
    /// for the run's length, or restores it from the checkpoint); ``step(images:labels:fractionalEpoch:)``
    /// updates it. The regularizer's policy holds it: nil when that is a schedule.
    public var adaptive: AdaptiveLambda? {
        get { regularizer.policy.adaptive }
        set { regularizer.policy = newValue.map { .adaptive($0) } ?? .schedule(config.lambdaSchedule) }
    }
    /// The frozen model whose logits ``TrainingConfig/distillation`` distils from: set it before
    /// `fit`, or the trainer takes a copy of the model at the adaptive λ's block selection.
    public var teacher: (any CollapsibleModel)?
    /// How the steps agree with the other processes of the run (set before `fit`):
    /// ``SingleProcess`` by default, a ``DataParallel`` rank for data-parallel training.
    public var synchronization: any StepSynchronization = SingleProcess()
    /// MACs of each collapsible block and of the whole model at the training image size (for
    /// the adaptive selection; measured at the first step that needs them).
    private var blockCosts: (blocks: [String: Int], full: Int)?

    /// - Parameter regularizer: the training term; nil = LaCoOT's, from the configuration's λ,
    ///   distance, tap and blocks. Given, it keeps its own policy (an adaptive configuration
    ///   still replaces it in `fit`).
    public init(model: any CollapsibleModel, config: TrainingConfig, normalization: Normalization,
                device: Device = .cpu, regularizer: (any Regularizer)? = nil) throws {
        try config.validate()
        self.device = device
        try model.to(device)
        self.model = model
        self.config = config
        self.normalization = normalization
        self.regularizer = try regularizer ?? LaCoOTRegularizer(
            model: model, lambda: config.lambdaSchedule, distance: config.slicedWasserstein,
            blocks: config.regularizer.blocks, tap: config.regularizer.tap, seed: config.seed &+ 1)
        let settings = config.optimizer
        switch settings.kind {
        case .sgd:
            let sgd = try SGD(lr: settings.learningRate, momentum: settings.momentum, weightDecay: settings.weightDecay,
                              nesterov: settings.nesterov)
            sgd.weightDecayScope = settings.weightDecayScope
            optimizer = sgd
        case .adam, .adamw:
            let adamW = try AdamW(lr: settings.learningRate, weightDecay: settings.weightDecay)
            adamW.weightDecayScope = settings.weightDecayScope
            adamW.decoupledWeightDecay = settings.kind == .adamw
            optimizer = adamW
        }
        if config.execution.channelsLast { try model.setMemoryFormat(.channelsLast) }
        try Self.freeze(config.optimizer.frozen, in: model)
        if let head = config.optimizer.headLearningRate {
            let prefix = try model.architecture.kind.family.importRules.classifierPrefix, factor = head / config.optimizer.learningRate
            optimizer.learningRateFactor = { $0.hasPrefix(prefix) ? factor : 1 }
        }
        optimizer.attach(to: model)
    }

    /// Stops training the parameters whose key starts with one of `prefixes`; a prefix that
    /// matches nothing is an error naming it.
    static func freeze(_ prefixes: [String], in model: any CollapsibleModel) throws {
        guard !prefixes.isEmpty else { return }
        let parameters = model.namedParameters()
        for prefix in prefixes {
            let matched = parameters.filter { $0.name == prefix || $0.name.hasPrefix(prefix + ".") }
            guard !matched.isEmpty else {
                throw ConfigurationError.outOfRange(flag: "freeze", problem: "\"\(prefix)\" names no parameter of \(model.architecture.label)")
            }
            for (_, tensor) in matched { try tensor.requiresGrad(false) }
        }
    }

    /// Trains for `config.epochs` epochs (or what remains of them when resuming) and returns
    /// every epoch's metrics. With `runFolder`, checkpoints after each epoch and on Ctrl-C.
    @discardableResult
    public func fit(train: ImageDataset, validation: ImageDataset?, runFolder: RunFolder? = nil,
                    runConfig: RunConfig? = nil, resume: Bool = false) throws -> [EpochMetrics] {
        let ranks = synchronization.worldSize
        guard config.batchSize % ranks == 0 else {
            throw ConfigurationError.outOfRange(flag: "batch-size", problem: "\(config.batchSize) (the global batch) is not a multiple of the \(ranks) ranks")
        }
        let loader = try Loader(dataset: train, batchSize: config.batchSize / ranks, shuffle: true, dropLast: true,
                                augmentation: config.augmentation, normalization: normalization,
                                seed: config.seed, shard: synchronization.shard)
        guard loader.batchCount > 0 else {
            throw ConfigurationError.outOfRange(flag: "batch-size", problem: "\(config.batchSize) is larger than the training split (\(train.count) samples)")
        }
        let stepsPerEpoch = min(loader.batchCount, config.execution.maxBatchesPerEpoch ?? Int.max)
        let scheduler = try LRScheduler(config.lrSchedule(stepsPerEpoch: stepsPerEpoch), optimizer: optimizer)
        if let settings = config.regularizer.adaptiveLambda {
            adaptive = AdaptiveLambda(blocks: regularizer.blocks, settings: settings, totalSteps: stepsPerEpoch * config.epochs)
        }
        // rank 0 alone writes; every rank reads the checkpoint it resumes from
        let writes = synchronization.isWriter
        let run = RunState(folder: writes ? runFolder : nil, configJSON: try runConfig?.json() ?? "{}", scheduler: scheduler)
        var progress = Resumed()
        if resume, let runFolder, runFolder.hasCheckpoint {
            progress = try restore(from: runFolder, runConfig: runConfig, run: run, stepsPerEpoch: stepsPerEpoch)
        }
        try applyResidualScales()
        var history = progress.history
        try synchronization.start(model, epoch: progress.startEpoch, step: progress.skipSteps)

        model.train()
        for epoch in progress.startEpoch..<config.epochs {
            let epochStarted = Date()
            var partial = epoch == progress.startEpoch ? progress.partial : PartialEpoch()
            try trainEpoch(epoch, loader: loader, stepsPerEpoch: stepsPerEpoch, run: run, started: epochStarted,
                           skipSteps: epoch == progress.startEpoch ? progress.skipSteps : 0, partial: &partial)
            let seconds = Date().timeIntervalSince(epochStarted) + partial.secondsBefore
            let (validationAccuracy, distances) = writes ? try validationPass(validation) : (nil, [])
            var metrics = partial.metrics(epoch: epoch + 1, learningRate: scheduler.learningRate,
                                          validationAccuracy: validationAccuracy, distances: distances, seconds: seconds)
            metrics.blockLambdas = adaptive?.weights
            history.append(metrics)
            if let folder = run.folder {
                try folder.writeMetrics(history)
                _ = try saveCheckpoint(run, epochsDone: epoch + 1, partial: nil, epochStarted: epochStarted)
            }
            log(Self.describe(metrics, epochs: config.epochs))
            try onEpoch?(metrics)
        }
        try applyResidualScales()
        return history
    }

    /// A copy of `model` in evaluation mode that no gradient reaches (the distillation's teacher).
    static func frozenCopy(of model: any CollapsibleModel) throws -> any CollapsibleModel {
        let copy = try Collapser.copy(of: model)
        copy.eval()
        for (_, tensor) in copy.namedParameters() { try tensor.requiresGrad(false) }
        return copy
    }

    /// Sets each block's residual scale to where the adaptive λ's identity path is at the
    /// current step (nothing without an identity path).
    func applyResidualScales() throws {
        try adaptive?.applyResidualScales(to: model)
    }

    /// What ``fit(train:validation:runFolder:runConfig:resume:)`` shares with its parts.
    struct RunState {
        let folder: RunFolder?
        let configJSON: String
        let scheduler: LRScheduler
    }

    /// Where a resumed run starts: the epochs done, the steps of the current epoch already
    /// taken and their running sums.
    struct Resumed {
        var history: [EpochMetrics] = []
        var startEpoch = 0
        var skipSteps = 0
        var partial = PartialEpoch()
    }

    /// The training steps of one epoch (after the first `skipSteps`, already taken before a
    /// resume). Stops after the current step when cancelled (with a checkpoint) or when the
    /// loss is not finite.
    func trainEpoch(_ epoch: Int, loader: Loader, stepsPerEpoch: Int, run: RunState, started: Date, skipSteps: Int,
                    partial: inout PartialEpoch) throws {
        let meter = ProgressLine(label: "epoch \(epoch + 1)/\(config.epochs)", total: stepsPerEpoch * config.batchSize,
                                 enabled: showProgress)
        if skipSteps > 0 { meter.advance(by: skipSteps * config.batchSize) }
        var step = 0
        var stopError: Error?
        var sums = partial
        try loader.forEachBatch(epoch: epoch) { batch in
            if stopError != nil || step >= stepsPerEpoch { return }
            defer { step += 1 }
            if step < skipSteps { return }
            let fractionalEpoch = Double(epoch) + Double(step) / Double(stepsPerEpoch)
            let result = try trainStep(batch, fractionalEpoch: fractionalEpoch)
            guard result.loss.isFinite else {
                stopError = TrainingError.nonFiniteLoss(
                    epoch: epoch, step: step, crossEntropy: result.crossEntropy, regularizer: result.regularizer,
                    checkpoint: run.folder.flatMap { $0.hasCheckpoint ? $0.checkpointURL.path : nil })
                return
            }
            run.scheduler.step()
            let samples = batch.count * synchronization.worldSize
            sums.add(result, count: samples)
            meter.advance(by: samples, status: sums.status)
            onStep?(result)
            if synchronization.stops(after: result, cancellation: cancellation) {
                sums.steps = step + 1
                let path = try saveCheckpoint(run, epochsDone: epoch, partial: sums, epochStarted: started)
                stopError = TrainingError.interrupted(epoch: epoch, step: step + 1, checkpoint: path)
            }
        }
        partial = sums
        if let stopError {
            meter.finish(status: "stopped")
            logger.notice("training stopped: \(stopError)")
            throw stopError
        }
        meter.finish(status: partial.status)
    }

    /// Validation accuracy and, with ``scoreEveryEpoch``, every block's distance (nil and none
    /// without a validation split).
    func validationPass(_ validation: ImageDataset?) throws -> (accuracy: Double?, distances: [BlockDistance]) {
        guard let validation, validation.count > 0 else { return (nil, []) }
        let accuracy = try Evaluation.accuracy(of: model, on: validation, normalization: normalization,
                                               batchSize: evaluationBatchSize)
        guard scoreEveryEpoch else { return (accuracy, []) }
        let distances = try Evaluation.blockDistances(of: model, on: validation, normalization: normalization,
                                                      distance: config.slicedWasserstein, tap: config.regularizer.tap,
                                                      seed: config.seed, batchSize: config.batchSize)
        return (accuracy, distances)
    }

    /// What one optimization step did: the loss split into its two parts, the correctly
    /// classified samples of the batch and λ at that step.
    public struct StepResult: Sendable {
        public let loss: Double
        public let crossEntropy: Double
        public let regularizer: Double
        public let correct: Int
        public let lambda: Double
        /// Data-parallel: some rank was cancelled before this step's figures were combined
        /// (``StepFigures/stopRequested``).
        public var stopRequested = false
    }

    /// One optimization step on one batch.
    func trainStep(_ batch: Batch, fractionalEpoch: Double) throws -> StepResult {
        try step(images: batch.images, labels: batch.labels, fractionalEpoch: fractionalEpoch)
    }

    /// One optimization step — forward (observing the blocks when λ > 0), cross-entropy +
    /// λ · mean block distance, backward, optimizer update — on normalized `images` [N, C, H, W]
    /// and `labels` [N] at fractional epoch `fractionalEpoch` (for the λ ramp). This is the
    /// step `fit` runs and the benchmarks time. A non-finite loss is returned without updating.
    public func step(images batchImages: Tensor, labels batchLabels: Tensor, fractionalEpoch: Double) throws -> StepResult {
        let onDevice = try batchImages.to(device)
        let labels = try batchLabels.to(device)
        let images = config.execution.channelsLast ? try onDevice.contiguous(.channelsLast) : onDevice
        let weights = regularizer.policy.weights(atEpoch: fractionalEpoch)
        let lambda = weights.lambda
        try applyResidualScales()
        try synchronization.synchronizeBuffers(model)
        var events: [BlockEvent] = []
        // bf16: the forward pass under autocast; the loss and the distance in float32.
        let output = try withPrecision(config.execution.precision, device: device) {
            lambda > 0 ? try model.forward(images) { events.append($0) } : try model(images)
        }
        let logits = output.dtype == .float32 ? output : try output.to(.float32)
        var ce = try Functional.crossEntropy(logits, target: labels, labelSmoothing: config.labelSmoothing)
        if let distillation = config.regularizer.distillation, let teacher {
            let taught = try withNoGrad { try withPrecision(config.execution.precision, device: device) { try teacher(images) } }
            ce = try ce + distillation.loss(student: logits, teacher: taught.dtype == .float32 ? taught : taught.to(.float32))
        }
        let penalty = try regularizer.penalty(try synchronization.events(events), weights: weights)
        let loss = lambda > 0 ? try ce + penalty.loss : ce
        try optimizer.zeroGrad()
        let local = StepFigures(crossEntropy: try ce.item(), regularizer: lambda > 0 ? try penalty.loss.item() : 0,
                                correct: Int(try withNoGrad { try logits.argmax(dim: 1).eq(labels).sum().item() }),
                                distances: penalty.distances)
        let figures = try synchronization.combine(local, cancellation: cancellation)
        let (ceValue, regValue, stop) = (figures.crossEntropy, figures.regularizer, figures.stopRequested)
        let total = ceValue + regValue
        if !total.isFinite {
            return StepResult(loss: total, crossEntropy: ceValue, regularizer: regValue, correct: 0, lambda: lambda, stopRequested: stop)
        }
        try loss.backward()
        try synchronization.synchronizeGradients(model)
        if let maxNorm = config.optimizer.gradientClipNorm {
            try GradientClipping.clip(model.namedParameters().map(\.tensor), maxNorm: maxNorm)
        }
        try optimizer.step()
        if adaptive != nil { try adapt(to: figures.distances, images: images, labels: labels) }
        return StepResult(loss: total, crossEntropy: ceValue, regularizer: regValue, correct: figures.correct, lambda: lambda,
                          stopRequested: stop)
    }

    /// Feeds one step's distances to the adaptive weights and runs the block selection when due.
    private func adapt(to distances: [BlockDistance], images: Tensor, labels: Tensor) throws {
        guard var state = adaptive else { return }
        let imageShape = images.shape
        state.observe(distances)
        if state.selectionDue {
            if blockCosts == nil {
                let cost = try model.cost(height: imageShape[2], width: imageShape[3])
                let names = model.collapsibleBlockNames
                blockCosts = (Dictionary(uniqueKeysWithValues: names.map { ($0, cost.macs(under: $0)) }), cost.totalMACs)
            }
            if config.regularizer.distillation != nil, teacher == nil { teacher = try Self.frozenCopy(of: model) }
            let costs = state.settings.selection == .ablation
                ? try removalCosts(of: state.selected, images: images, labels: labels) : nil
            if let costs {
                log("removal costs (cross-entropy increase with the block bypassed): "
                    + state.selected.map { String(format: "%@ %+.3f", $0, costs[$0] ?? .nan) }.joined(separator: ", "))
            }
            let released = state.select(blockMACs: blockCosts!.blocks, fullMACs: blockCosts!.full, removalCosts: costs)
            log("adaptive λ: regularizing " + state.selected.joined(separator: ", ")
                + (released.isEmpty ? "" : "; released (trained freely): " + released.joined(separator: ", ")))
        }
        adaptive = state
    }

    static func describe(_ m: EpochMetrics, epochs: Int) -> String {
        var text = String(format: "epoch %d/%d  loss %.4f (CE %.4f + λ·MSW %.4f)  train %.2f%%", m.epoch, epochs,
                          m.trainLoss, m.trainCrossEntropy, m.trainRegularizer, m.trainAccuracy)
        if let v = m.validationAccuracy { text += String(format: "  val %.2f%%", v) }
        if let weights = m.blockLambdas {
            text += "  λ " + weights.filter { $0.value > 0 }.sorted { $0.key < $1.key }
                .map { String(format: "%@ %.3g", $0.key, $0.value) }.joined(separator: ", ")
        }
        text += String(format: "  lr %.4g  %.0f img/s  %.0f s", m.learningRate, m.imagesPerSecond, m.seconds)
        if !m.validationDistances.isEmpty {
            text += "  MSW " + m.validationDistances.map { String(format: "%@ %.3f", $0.block, $0.distance) }
                .joined(separator: ", ")
        }
        return text
    }
}
