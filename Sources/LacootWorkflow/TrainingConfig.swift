import Datasets
import Foundation
import LaCoOT
import LacootSupport
import Models
import NN
import Optim
import Torch

/// Everything that defines a training run (saved as the run's `config.json`).
public struct TrainingConfig: Codable, Sendable, Equatable {
    public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case sgd, adam, adamw }
    public enum ScheduleKind: String, Codable, Sendable, CaseIterable { case constant, multistep, cosine }

    public var epochs: Int = 10
    public var batchSize: Int = 128
    public var optimizer: OptimizerKind = .sgd
    public var learningRate: Double = 0.1
    /// SGD momentum (the reference: 0.9).
    public var momentum: Double = 0.9
    public var nesterov: Bool = false
    /// Weight decay (the reference: 1e-4 with SGD); AdamW's is decoupled.
    public var weightDecay: Double = 1e-4
    /// The parameters weight decay applies to: all, or weights only (no decay on biases, norms,
    /// position tables and class tokens — the transformer recipe).
    public var weightDecayScope: WeightDecayScope = .all
    /// Clip the gradients' global L2 norm to this value before each update (nil = no clipping).
    public var gradientClipNorm: Double? = nil
    /// The classifier's learning rate (fc, classifier.1, head, heads.head), following the same
    /// schedule; nil = `learningRate` (transfer: a fresh head learns faster than its backbone).
    public var headLearningRate: Double? = nil
    /// Parameters whose key starts with one of these prefixes are frozen (not trained).
    public var frozen: [String] = []
    public var schedule: ScheduleKind = .cosine
    /// Multi-step milestones in epochs (the reference: 80, 120 of 160) and factor.
    public var milestones: [Int] = []
    public var gamma: Double = 0.1
    /// Epochs of linear learning-rate warm-up (0 = none).
    public var warmupEpochs: Int = 0
    /// LaCoOT's weight λ and its optional linear ramp from 0.
    public var lambda: Double = 5
    public var lambdaWarmupEpochs: Double = 0
    /// Per-block λ adapted toward a removal target (`lacoot compress`); nil = the fixed
    /// `lambda` for every block.
    public var adaptiveLambda: AdaptiveLambda.Settings? = nil
    /// A new model starts with the last BatchNorm of every regularized block's residual branch
    /// at weight 0 (the block is the identity at the first step; ``ResidualInit``). Not applied
    /// to imported weights.
    public var zeroInitResidual: Bool = false
    /// Distillation from the model frozen at the adaptive λ's block selection (``Distillation``;
    /// `compress` only); nil = none. Its term is counted in the step's logged cross-entropy.
    public var distillation: Distillation? = nil
    public var distance: DistanceMode = .reference
    public var projections: Int = 50
    public var p: Double = 2
    public var ascentSteps: Int = 5
    /// What each block's input is compared with: its output (the paper) or, for transformers,
    /// its MLP branch (the reference code's Swin-T hooks).
    public var tap: FeatureTap = .output
    /// Regularized blocks (nil = all collapsible blocks).
    public var blocks: [String]? = nil
    public var labelSmoothing: Double = 0
    /// The augmentation of training batches. The CLI's default depends on the dataset
    /// (`Augmentation.default(for:)`: no flip on digits); the library's is the paper's crop
    /// (padding 4) and flip. Older config files' `augment: true/false` read as that or none.
    public var augmentation: Augmentation = .standard
    /// Keep 4-D weights and activations channels-last (NHWC): faster convolutions on oneDNN
    /// (measured: BENCHMARKS.md), so the default.
    public var channelsLast: Bool = true
    /// fp32, or bf16 mixed precision (convolutions and matmuls in bfloat16; BatchNorm, losses
    /// and the distance in float32; weights, optimizer state and checkpoints float32).
    public var precision: Precision = .fp32
    public var seed: UInt64 = 0
    /// Stop each epoch after this many batches (quick runs and tests); nil = the whole split.
    public var maxBatchesPerEpoch: Int? = nil

    public init() {}

    /// Reads a saved configuration; a field the file lacks (written by an older version) takes
    /// its default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingConfig()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        epochs = try value(.epochs, d.epochs)
        batchSize = try value(.batchSize, d.batchSize)
        optimizer = try value(.optimizer, d.optimizer)
        learningRate = try value(.learningRate, d.learningRate)
        momentum = try value(.momentum, d.momentum)
        nesterov = try value(.nesterov, d.nesterov)
        weightDecay = try value(.weightDecay, d.weightDecay)
        weightDecayScope = try value(.weightDecayScope, d.weightDecayScope)
        gradientClipNorm = try value(.gradientClipNorm, d.gradientClipNorm)
        headLearningRate = try value(.headLearningRate, d.headLearningRate)
        frozen = try value(.frozen, d.frozen)
        schedule = try value(.schedule, d.schedule)
        milestones = try value(.milestones, d.milestones)
        gamma = try value(.gamma, d.gamma)
        warmupEpochs = try value(.warmupEpochs, d.warmupEpochs)
        lambda = try value(.lambda, d.lambda)
        lambdaWarmupEpochs = try value(.lambdaWarmupEpochs, d.lambdaWarmupEpochs)
        adaptiveLambda = try value(.adaptiveLambda, d.adaptiveLambda)
        zeroInitResidual = try value(.zeroInitResidual, d.zeroInitResidual)
        distillation = try value(.distillation, d.distillation)
        distance = try value(.distance, d.distance)
        projections = try value(.projections, d.projections)
        p = try value(.p, d.p)
        ascentSteps = try value(.ascentSteps, d.ascentSteps)
        tap = try value(.tap, d.tap)
        blocks = try value(.blocks, d.blocks)
        labelSmoothing = try value(.labelSmoothing, d.labelSmoothing)
        augmentation = try c.decodeIfPresent(Augmentation.self, forKey: .augmentation)
            ?? decoder.container(keyedBy: LegacyKeys.self).decodeIfPresent(Bool.self, forKey: .augment).map { $0 ? .standard : .none }
            ?? d.augmentation
        channelsLast = try value(.channelsLast, false)   // older files: NCHW was the default
        precision = try value(.precision, d.precision)
        seed = try value(.seed, d.seed)
        maxBatchesPerEpoch = try value(.maxBatchesPerEpoch, d.maxBatchesPerEpoch)
    }

    /// Keys older versions wrote.
    private enum LegacyKeys: String, CodingKey { case augment }

    /// The distance the regularizer uses.
    public var slicedWasserstein: SlicedWasserstein {
        SlicedWasserstein(mode: distance, projectionCount: projections, p: p, ascentSteps: ascentSteps)
    }

    public var lambdaSchedule: LambdaSchedule { LambdaSchedule(lambda: lambda, warmupEpochs: lambdaWarmupEpochs) }

    /// Checks every field; the message names the field.
    public func validate() throws {
        func bad(_ flag: String, _ problem: String) -> ConfigurationError { .outOfRange(flag: flag, problem: problem) }
        guard (1...100_000).contains(epochs) else { throw bad("epochs", "must be in 1...100000, got \(epochs)") }
        guard (1...65_536).contains(batchSize) else { throw bad("batch-size", "must be in 1...65536, got \(batchSize)") }
        // finite is what the library needs (a diverging rate is a legitimate experiment); the CLI caps it at 100
        guard learningRate > 0, learningRate.isFinite else { throw bad("lr", "must be a finite number > 0, got \(learningRate)") }
        guard momentum >= 0, momentum < 1 else { throw bad("momentum", "must be in [0, 1), got \(momentum)") }
        guard weightDecay >= 0, weightDecay <= 1 else { throw bad("weight-decay", "must be in [0, 1], got \(weightDecay)") }
        try lambdaSchedule.validate()
        try adaptiveLambda?.validate()
        try distillation?.validate()
        guard (0...64).contains(augmentation.cropPadding) else {
            throw bad("crop-padding", "must be in 0...64, got \(augmentation.cropPadding)")
        }
        guard !(augmentation.resizedCrop && augmentation.cropPadding > 0) else {
            throw bad("augment", "crop and resized-crop exclude each other")
        }
        guard (1...100_000).contains(projections) else { throw bad("projections", "must be at least 1, got \(projections)") }
        guard p >= 1 else { throw bad("p", "must be ≥ 1, got \(p)") }
        guard (0...100_000).contains(ascentSteps) else { throw bad("ascent-steps", "must be ≥ 0, got \(ascentSteps)") }
        guard gamma > 0, gamma <= 1 else { throw bad("gamma", "must be in (0, 1], got \(gamma)") }
        if let headLearningRate, !(headLearningRate > 0 && headLearningRate.isFinite) {
            throw bad("head-lr", "must be a finite number > 0, got \(headLearningRate)")
        }
        if let gradientClipNorm, !(gradientClipNorm > 0 && gradientClipNorm.isFinite) {
            throw bad("clip-grad-norm", "must be a finite number > 0, got \(gradientClipNorm)")
        }
        guard labelSmoothing >= 0, labelSmoothing < 1 else { throw bad("label-smoothing", "must be in [0, 1), got \(labelSmoothing)") }
        guard warmupEpochs >= 0, warmupEpochs < epochs else { throw bad("warmup-epochs", "must be in [0, epochs), got \(warmupEpochs)") }
        if schedule == .multistep {
            guard !milestones.isEmpty, milestones == milestones.sorted(), milestones.allSatisfy({ (1...100_000).contains($0) }) else {
                throw bad("milestones", "a multi-step schedule needs increasing positive epochs, got \(milestones)")
            }
        }
        if let maxBatchesPerEpoch, !(1...1_000_000_000).contains(maxBatchesPerEpoch) { throw bad("max-batches", "must be at least 1") }
    }

    /// The learning-rate schedule over `stepsPerEpoch × epochs` iterations.
    public func lrSchedule(stepsPerEpoch: Int) -> LRSchedule {
        let total = max(1, (epochs - warmupEpochs) * stepsPerEpoch)
        let main: LRSchedule
        switch schedule {
        case .constant: main = .constant
        case .multistep: main = .multiStep(milestones: milestones.map { max(1, ($0 - warmupEpochs) * stepsPerEpoch) }, gamma: gamma)
        case .cosine: main = .cosine(total: total, minimum: 0)
        }
        return warmupEpochs > 0 ? .linearWarmup(steps: warmupEpochs * stepsPerEpoch, startFactor: 0.01, then: main) : main
    }

    /// A one-line summary for reports ("10 epochs, batch 128, SGD lr 0.1 cosine, λ = 5, seed 0").
    public var summary: String {
        var parts = ["\(epochs) epoch\(epochs == 1 ? "" : "s")", "batch \(batchSize)"]
        parts.append("\(["sgd": "SGD", "adam": "Adam", "adamw": "AdamW"][optimizer.rawValue]!) lr \(learningRate) \(schedule.rawValue)")
        if weightDecayScope != .all { parts.append("no decay on norms/biases/embeddings") }
        if labelSmoothing > 0 { parts.append("label smoothing \(labelSmoothing)") }
        if let gradientClipNorm { parts.append("clip \(gradientClipNorm)") }
        if let a = adaptiveLambda {
            parts.append("adaptive λ (from \(a.initialLambda), ε \(a.epsilon)"
                         + (a.targetMACs.map { ", target \(Int(($0 * 100).rounded())) % of the MACs" } ?? "") + ")")
        } else {
            parts.append(lambdaSchedule.description)
        }
        if tap != .output { parts.append("tap \(tap.rawValue)") }
        if zeroInitResidual { parts.append("zero-init residual branches") }
        if let path = adaptiveLambda?.identityPath { parts.append("\(path.shape.rawValue) identity path") }
        if adaptiveLambda?.selection == .ablation { parts.append("selection by ablation") }
        if let d = distillation { parts.append("distillation \(d.weight) (T \(d.temperature))") }
        parts.append("seed \(seed)")
        if precision != .fp32 { parts.append(precision.rawValue) }
        if let maxBatchesPerEpoch { parts.append("≤ \(maxBatchesPerEpoch) batches/epoch") }
        parts.append("augmentation \(augmentation)")
        return parts.joined(separator: ", ")
    }
}
