import Foundation
import LaCoOT
import Models
import NN
import Optim
import Torch

// The sections of a ``TrainingConfig``: each holds one concern, checks its own fields
// (``TrainingConfig/validate()`` calls them) and reads a file that lacks a field (an older
// version's) with that field's default.

extension TrainingConfig {
    public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case sgd, adam, adamw }
    public enum ScheduleKind: String, Codable, Sendable, CaseIterable { case constant, multistep, cosine }

    /// What updates the weights, and which weights.
    public struct OptimizerSettings: Codable, Sendable, Equatable {
        public var kind: OptimizerKind = .sgd
        public var learningRate: Double = 0.1
        /// SGD momentum (the reference: 0.9).
        public var momentum: Double = 0.9
        public var nesterov: Bool = false
        /// Weight decay (the reference: 1e-4 with SGD); AdamW's is decoupled.
        public var weightDecay: Double = 1e-4
        /// The parameters weight decay applies to: all, or weights only (no decay on biases,
        /// norms, position tables and class tokens — the transformer recipe).
        public var weightDecayScope: WeightDecayScope = .all
        /// Clip the gradients' global L2 norm to this value before each update (nil = no clipping).
        public var gradientClipNorm: Double? = nil
        /// The classifier's learning rate (fc, classifier.1, head, heads.head), following the
        /// same schedule; nil = `learningRate` (transfer: a fresh head learns faster than its backbone).
        public var headLearningRate: Double? = nil
        /// Parameters whose key starts with one of these prefixes are frozen (not trained).
        public var frozen: [String] = []

        public init() {}

        public init(from decoder: any Decoder) throws {
            let read = try FieldReader(decoder), d = Self()
            kind = try read("kind", d.kind)
            learningRate = try read("learningRate", d.learningRate)
            momentum = try read("momentum", d.momentum)
            nesterov = try read("nesterov", d.nesterov)
            weightDecay = try read("weightDecay", d.weightDecay)
            weightDecayScope = try read("weightDecayScope", d.weightDecayScope)
            gradientClipNorm = try read("gradientClipNorm", d.gradientClipNorm)
            headLearningRate = try read("headLearningRate", d.headLearningRate)
            frozen = try read("frozen", d.frozen)
        }

        func validate() throws {
            // finite is what the library needs (a diverging rate is a legitimate experiment); the CLI caps it at 100
            guard learningRate > 0, learningRate.isFinite else { throw bad("lr", "must be a finite number > 0, got \(learningRate)") }
            guard momentum >= 0, momentum < 1 else { throw bad("momentum", "must be in [0, 1), got \(momentum)") }
            guard weightDecay >= 0, weightDecay <= 1 else { throw bad("weight-decay", "must be in [0, 1], got \(weightDecay)") }
            if let headLearningRate, !(headLearningRate > 0 && headLearningRate.isFinite) {
                throw bad("head-lr", "must be a finite number > 0, got \(headLearningRate)")
            }
            if let gradientClipNorm, !(gradientClipNorm > 0 && gradientClipNorm.isFinite) {
                throw bad("clip-grad-norm", "must be a finite number > 0, got \(gradientClipNorm)")
            }
        }
    }

    /// How the learning rate moves over the epochs.
    public struct ScheduleSettings: Codable, Sendable, Equatable {
        public var kind: ScheduleKind = .cosine
        /// Multi-step milestones in epochs (the reference: 80, 120 of 160) and factor.
        public var milestones: [Int] = []
        public var gamma: Double = 0.1
        /// Epochs of linear learning-rate warm-up (0 = none).
        public var warmupEpochs: Int = 0

        public init() {}

        public init(from decoder: any Decoder) throws {
            let read = try FieldReader(decoder), d = Self()
            kind = try read("kind", d.kind)
            milestones = try read("milestones", d.milestones)
            gamma = try read("gamma", d.gamma)
            warmupEpochs = try read("warmupEpochs", d.warmupEpochs)
        }

        func validate(epochs: Int) throws {
            guard gamma > 0, gamma <= 1 else { throw bad("gamma", "must be in (0, 1], got \(gamma)") }
            guard warmupEpochs >= 0, warmupEpochs < epochs else { throw bad("warmup-epochs", "must be in [0, epochs), got \(warmupEpochs)") }
            if kind == .multistep {
                guard !milestones.isEmpty, milestones == milestones.sorted(), milestones.allSatisfy({ (1...100_000).contains($0) }) else {
                    throw bad("milestones", "a multi-step schedule needs increasing positive epochs, got \(milestones)")
                }
            }
        }
    }

    /// What is added to the cross-entropy: LaCoOT's distance on which blocks, weighted how
    /// (λ fixed, ramped or adapted per block), and the terms `compress` adds.
    public struct RegularizerSettings: Codable, Sendable, Equatable {
        /// LaCoOT's weight λ and its optional linear ramp from 0.
        public var lambda: Double = 5
        public var lambdaWarmupEpochs: Double = 0
        /// Per-block λ adapted toward a removal target (`lacoot compress`); nil = the fixed
        /// `lambda` for every block.
        public var adaptiveLambda: AdaptiveLambda.Settings? = nil
        /// A new model starts with the last BatchNorm of every regularized block's residual
        /// branch at weight 0 (the block is the identity at the first step; ``ResidualInit``).
        /// Not applied to imported weights.
        public var zeroInitResidual: Bool = false
        /// Distillation from the model frozen at the adaptive λ's block selection
        /// (``Distillation``; `compress` only); nil = none. Its term is counted in the step's
        /// logged cross-entropy.
        public var distillation: Distillation? = nil
        public var distance: DistanceMode = .reference
        public var projections: Int = 50
        public var p: Double = 2
        public var ascentSteps: Int = 5
        /// What each block's input is compared with: its output (the paper) or, for
        /// transformers, its MLP branch (the reference code's Swin-T hooks).
        public var tap: FeatureTap = .output
        /// Regularized blocks (nil = all collapsible blocks).
        public var blocks: [String]? = nil

        public init() {}

        public init(from decoder: any Decoder) throws {
            let read = try FieldReader(decoder), d = Self()
            lambda = try read("lambda", d.lambda)
            lambdaWarmupEpochs = try read("lambdaWarmupEpochs", d.lambdaWarmupEpochs)
            adaptiveLambda = try read("adaptiveLambda", d.adaptiveLambda)
            zeroInitResidual = try read("zeroInitResidual", d.zeroInitResidual)
            distillation = try read("distillation", d.distillation)
            distance = try read("distance", d.distance)
            projections = try read("projections", d.projections)
            p = try read("p", d.p)
            ascentSteps = try read("ascentSteps", d.ascentSteps)
            tap = try read("tap", d.tap)
            blocks = try read("blocks", d.blocks)
        }

        /// The distance the regularizer uses.
        public var slicedWasserstein: SlicedWasserstein {
            SlicedWasserstein(mode: distance, projectionCount: projections, p: p, ascentSteps: ascentSteps)
        }

        public var lambdaSchedule: LambdaSchedule { LambdaSchedule(lambda: lambda, warmupEpochs: lambdaWarmupEpochs) }

        func validate() throws {
            try lambdaSchedule.validate()
            try adaptiveLambda?.validate()
            try distillation?.validate()
            guard (1...100_000).contains(projections) else { throw bad("projections", "must be at least 1, got \(projections)") }
            guard p >= 1 else { throw bad("p", "must be ≥ 1, got \(p)") }
            guard (0...100_000).contains(ascentSteps) else { throw bad("ascent-steps", "must be ≥ 0, got \(ascentSteps)") }
        }
    }

    /// How the steps run: memory layout, precision, and a cap for quick runs.
    public struct ExecutionSettings: Codable, Sendable, Equatable {
        /// Keep 4-D weights and activations channels-last (NHWC): faster convolutions on
        /// oneDNN (measured: BENCHMARKS.md), so the default.
        public var channelsLast: Bool = true
        /// fp32, or bf16 mixed precision (convolutions and matmuls in bfloat16; BatchNorm,
        /// losses and the distance in float32; weights, optimizer state and checkpoints float32).
        public var precision: Precision = .fp32
        /// Stop each epoch after this many batches (quick runs and tests); nil = the whole split.
        public var maxBatchesPerEpoch: Int? = nil

        public init() {}

        /// `legacy`: a file from before the sections, written when NCHW was the default.
        init(from decoder: any Decoder, legacy: Bool) throws {
            let read = try FieldReader(decoder), d = Self()
            channelsLast = try read("channelsLast", legacy ? false : d.channelsLast)
            precision = try read("precision", d.precision)
            maxBatchesPerEpoch = try read("maxBatchesPerEpoch", d.maxBatchesPerEpoch)
        }

        public init(from decoder: any Decoder) throws { try self.init(from: decoder, legacy: false) }

        func validate() throws {
            if let maxBatchesPerEpoch, !(1...1_000_000_000).contains(maxBatchesPerEpoch) { throw bad("max-batches", "must be at least 1") }
        }
    }
}

/// A configuration error naming the flag.
private func bad(_ flag: String, _ problem: String) -> ConfigurationError { .outOfRange(flag: flag, problem: problem) }

/// Reads a keyed object field by field, a missing field taking the given default.
struct FieldReader {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    let container: KeyedDecodingContainer<Key>

    init(_ decoder: any Decoder) throws { container = try decoder.container(keyedBy: Key.self) }

    func callAsFunction<T: Decodable>(_ name: String, _ fallback: T) throws -> T {
        try container.decodeIfPresent(T.self, forKey: Key(name)) ?? fallback
    }

    func contains(_ name: String) -> Bool { container.contains(Key(name)) }
}
