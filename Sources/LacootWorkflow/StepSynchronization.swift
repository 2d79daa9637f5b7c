import Datasets
import LaCoOT
import LacootRecords
import LacootSupport
import Models

/// How the ``Trainer``'s steps agree with the other processes of a run. The trainer calls every
/// requirement unconditionally at its place in ``Trainer/fit(train:validation:runFolder:runConfig:resume:)``
/// and ``Trainer/step(images:labels:fractionalEpoch:)``: ``SingleProcess`` (the default) does
/// nothing and returns what it is given; ``DataParallel`` is one rank of a data-parallel group.
///
/// ```swift
/// let trainer = try Trainer(model: model, config: config, normalization: normalization)
/// trainer.synchronization = try DataParallel.join(master: endpoint, rank: rank, worldSize: 2,
///                                                 timeoutSeconds: 300, globalDistance: false, syncBatchNorm: false)
/// try trainer.fit(train: data.train, validation: data.validation)
/// ```
public protocol StepSynchronization: AnyObject {
    /// The processes training together (1 alone); the global batch is divided among them.
    var worldSize: Int { get }
    /// This process's part of each epoch's order.
    var shard: Shard { get }
    /// Whether this process validates, writes the run folder and reports.
    var isWriter: Bool { get }
    /// What a checkpoint records about the processes, so that a resume can check them.
    var checkpointMetadata: [String: String] { get }

    /// Before the first step: every process starts from the same weights at the same position
    /// (`epoch`, `step`: where this process resumes).
    func start(_ model: any CollapsibleModel, epoch: Int, step: Int) throws
    /// Before each forward pass: the model's buffers as the processes agree on them.
    func synchronizeBuffers(_ model: any CollapsibleModel) throws
    /// The block events the regularizer measures (this process's, or the whole global batch's).
    func events(_ local: [BlockEvent]) throws -> [BlockEvent]
    /// The step's figures as every process sees them; `cancellation` is read here when the
    /// processes must agree on stopping.
    func combine(_ figures: StepFigures, cancellation: CancellationToken?) throws -> StepFigures
    /// Between backward and the optimizer: the gradients every process applies.
    func synchronizeGradients(_ model: any CollapsibleModel) throws
    /// The mean over the processes of each value (the same list on every process).
    func mean(of values: [Double]) throws -> [Double]
    /// Whether training stops after the step that gave `result`, at the same step on every process.
    func stops(after result: Trainer.StepResult, cancellation: CancellationToken?) -> Bool
}

/// One step's figures: the loss split into its two parts, the correctly classified samples and
/// the block distances the regularizer measured.
public struct StepFigures: Sendable, Equatable {
    public var crossEntropy: Double
    public var regularizer: Double
    public var correct: Int
    public var distances: [BlockDistance]
    /// Some process was cancelled before the figures were combined (data-parallel only).
    public var stopRequested = false

    public init(crossEntropy: Double, regularizer: Double, correct: Int, distances: [BlockDistance],
                stopRequested: Bool = false) {
        self.crossEntropy = crossEntropy
        self.regularizer = regularizer
        self.correct = correct
        self.distances = distances
        self.stopRequested = stopRequested
    }
}

/// Training in this process alone: nothing to agree on. Every step stops when the
/// cancellation token is cancelled after it.
public final class SingleProcess: StepSynchronization {
    public init() {}

    public var worldSize: Int { 1 }
    public var shard: Shard { .whole }
    public var isWriter: Bool { true }
    public var checkpointMetadata: [String: String] { [:] }

    public func start(_ model: any CollapsibleModel, epoch: Int, step: Int) throws {}
    public func synchronizeBuffers(_ model: any CollapsibleModel) throws {}
    public func events(_ local: [BlockEvent]) throws -> [BlockEvent] { local }
    public func combine(_ figures: StepFigures, cancellation: CancellationToken?) throws -> StepFigures { figures }
    public func synchronizeGradients(_ model: any CollapsibleModel) throws {}
    public func mean(of values: [Double]) throws -> [Double] { values }

    public func stops(after result: Trainer.StepResult, cancellation: CancellationToken?) -> Bool {
        cancellation?.isCancelled == true
    }
}
