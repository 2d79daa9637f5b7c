import Datasets
import Foundation
import LaCoOT
import LacootSupport
import Models
import NN
import Optim
import Torch

/// Everything that defines a training run (saved as the run's `config.json`): the budget
/// and the data's treatment at the top, then one section per concern — ``optimizer``,
/// ``schedule``, ``regularizer``, ``execution`` (TrainingSections.swift). ``validate()`` checks
/// every field once, where a configuration enters (a new run's folder, `Trainer.init`).
public struct TrainingConfig: Codable, Sendable, Equatable {
    public var epochs: Int = 10
    public var batchSize: Int = 128
    public var seed: UInt64 = 0
    public var labelSmoothing: Double = 0
    /// The augmentation of training batches. The CLI's default depends on the dataset
    /// (`Augmentation.default(for:)`: no flip on digits); the library's is the paper's crop
    /// (padding 4) and flip. Older config files' `augment: true/false` read as that or none.
    public var augmentation: Augmentation = .standard
    public var optimizer = OptimizerSettings()
    public var schedule = ScheduleSettings()
    public var regularizer = RegularizerSettings()
    public var execution = ExecutionSettings()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case epochs, batchSize, seed, labelSmoothing, augmentation, optimizer, schedule, regularizer, execution
    }

    /// Reads a saved configuration; a field the file lacks (written by an older version) takes
    /// its default. A file from before the sections (every field at the top, `optimizer` and
    /// `schedule` naming the kinds) reads into them.
    public init(from decoder: any Decoder) throws {
        let read = try FieldReader(decoder), d = TrainingConfig()
        epochs = try read("epochs", d.epochs)
        batchSize = try read("batchSize", d.batchSize)
        seed = try read("seed", d.seed)
        labelSmoothing = try read("labelSmoothing", d.labelSmoothing)
        augmentation = try read("augmentation", Optional<Augmentation>.none)
            ?? read("augment", Optional<Bool>.none).map { $0 ? .standard : .none }
            ?? d.augmentation
        if read.contains("regularizer") {
            optimizer = try read("optimizer", d.optimizer)
            schedule = try read("schedule", d.schedule)
            regularizer = try read("regularizer", d.regularizer)
            execution = try read("execution", d.execution)
        } else {   // the flat layout: each section's fields at the top
            optimizer = try OptimizerSettings(from: decoder)
            optimizer.kind = try read("optimizer", d.optimizer.kind)
            schedule = try ScheduleSettings(from: decoder)
            schedule.kind = try read("schedule", d.schedule.kind)
            regularizer = try RegularizerSettings(from: decoder)
            execution = try ExecutionSettings(from: decoder, legacy: true)
        }
    }

    /// The distance the regularizer uses.
    public var slicedWasserstein: SlicedWasserstein { regularizer.slicedWasserstein }

    public var lambdaSchedule: LambdaSchedule { regularizer.lambdaSchedule }

    /// Checks every field, section by section; the message names the field's flag.
    public func validate() throws {
        func bad(_ flag: String, _ problem: String) -> ConfigurationError { .outOfRange(flag: flag, problem: problem) }
        guard (1...100_000).contains(epochs) else { throw bad("epochs", "must be in 1...100000, got \(epochs)") }
        guard (1...65_536).contains(batchSize) else { throw bad("batch-size", "must be in 1...65536, got \(batchSize)") }
        guard labelSmoothing >= 0, labelSmoothing < 1 else { throw bad("label-smoothing", "must be in [0, 1), got \(labelSmoothing)") }
        guard (0...64).contains(augmentation.cropPadding) else {
            throw bad("crop-padding", "must be in 0...64, got \(augmentation.cropPadding)")
        }
        guard !(augmentation.resizedCrop && augmentation.cropPadding > 0) else {
            throw bad("augment", "crop and resized-crop exclude each other")
        }
        try optimizer.validate()
        try schedule.validate(epochs: epochs)
        try regularizer.validate()
        try execution.validate()
    }

    /// The learning-rate schedule over `stepsPerEpoch × epochs` iterations.
    public func lrSchedule(stepsPerEpoch: Int) -> LRSchedule {
        let warmup = schedule.warmupEpochs
        let total = max(1, (epochs - warmup) * stepsPerEpoch)
        let main: LRSchedule
        switch schedule.kind {
        case .constant: main = .constant
        case .multistep:
            main = .multiStep(milestones: schedule.milestones.map { max(1, ($0 - warmup) * stepsPerEpoch) }, gamma: schedule.gamma)
        case .cosine: main = .cosine(total: total, minimum: 0)
        }
        return warmup > 0 ? .linearWarmup(steps: warmup * stepsPerEpoch, startFactor: 0.01, then: main) : main
    }

    /// A one-line summary for reports ("10 epochs, batch 128, SGD lr 0.1 cosine, λ = 5, seed 0").
    public var summary: String {
        let o = optimizer, r = regularizer
        var parts = ["\(epochs) epoch\(epochs == 1 ? "" : "s")", "batch \(batchSize)"]
        parts.append("\(["sgd": "SGD", "adam": "Adam", "adamw": "AdamW"][o.kind.rawValue]!) lr \(o.learningRate) \(schedule.kind.rawValue)")
        if o.weightDecayScope != .all { parts.append("no decay on norms/biases/embeddings") }
        if labelSmoothing > 0 { parts.append("label smoothing \(labelSmoothing)") }
        if let clip = o.gradientClipNorm { parts.append("clip \(clip)") }
        if let a = r.adaptiveLambda {
            parts.append("adaptive λ (from \(a.initialLambda), ε \(a.epsilon)"
                         + (a.targetMACs.map { ", target \(Int(($0 * 100).rounded())) % of the MACs" } ?? "") + ")")
        } else {
            parts.append(lambdaSchedule.description)
        }
        if r.tap != .output { parts.append("tap \(r.tap.rawValue)") }
        if r.zeroInitResidual { parts.append("zero-init residual branches") }
        if let path = r.adaptiveLambda?.identityPath { parts.append("\(path.shape.rawValue) identity path") }
        if r.adaptiveLambda?.selection == .ablation { parts.append("selection by ablation") }
        if let d = r.distillation { parts.append("distillation \(d.weight) (T \(d.temperature))") }
        parts.append("seed \(seed)")
        if execution.precision != .fp32 { parts.append(execution.precision.rawValue) }
        if let cap = execution.maxBatchesPerEpoch { parts.append("≤ \(cap) batches/epoch") }
        parts.append("augmentation \(augmentation)")
        return parts.joined(separator: ", ")
    }
}
