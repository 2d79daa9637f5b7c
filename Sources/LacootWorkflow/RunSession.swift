import Datasets
import Foundation
import LaCoOT
import LacootRecords
import LacootSupport
import Models
import NN
import Torch

/// A run folder opened to train in: locked, its configuration (new, read back to resume, or
/// over weights `lacoot import` left there), its prepared data and the network. `lacoot train`,
/// `lacoot compress`, the demo's arms and a library user's own loop all start here.
///
/// ```swift
/// var request = RunSession.Request(model: .resnet18)
/// request.training.lambda = 1
/// let session = try RunSession.open(RunFolder("runs/a"), resume: false, request: request)
/// let history = try session.train()
/// ```
public final class RunSession {
    /// What a run is asked to be; a resumed run's comes from its folder instead.
    public struct Request: Sendable {
        public var training = TrainingConfig()
        /// The data (its `splitSeed` is set to the training seed). `padTo` nil: DataConfig's
        /// default for a new model, the weights' input size for imported weights.
        public var data = DataConfig()
        /// A new model: the family and its size settings (class and channel counts and the
        /// image size are read from the data). Not used for imported weights.
        public var model: ModelChoice
        public var sizes = ModelVariant.Request(classCount: 0, inputChannels: 0, imageSize: 0)

        public init(model: ModelChoice = .resnet18) { self.model = model }

        /// The architecture for the prepared data.
        func architecture(for data: PreparedData) -> ModelArchitecture {
            var request = sizes
            request.classCount = data.train.classCount
            request.inputChannels = data.train.channels
            request.imageSize = data.train.height
            return model.architecture(request)
        }
    }

    public let folder: RunFolder
    /// Held for the session's whole life: a second process on the folder stops at once.
    public let lock: RunLock?
    public let config: RunConfig
    public let data: PreparedData
    public let network: any CollapsibleModel
    /// Whether the network is the weights `lacoot import` left in the folder.
    public let isImported: Bool
    public var log: (String) -> Void
    public var showProgress = true
    /// Stops training at the next step (with a checkpoint) once cancelled.
    public var cancellation: CancellationToken?

    init(folder: RunFolder, lock: RunLock?, config: RunConfig, data: PreparedData, network: any CollapsibleModel,
         isImported: Bool, log: @escaping (String) -> Void) {
        self.folder = folder
        self.lock = lock
        self.config = config
        self.data = data
        self.network = network
        self.isImported = isImported
        self.log = log
    }

    /// Locks the folder, then builds or reads the configuration and writes it (new runs).
    /// `request` is only used (and validated) for a new run. A data-parallel rank other than
    /// 0 (`writer` false) neither locks nor writes the folder: rank 0 does.
    public static func open(_ folder: RunFolder, resume: Bool, request: Request, writer: Bool = true,
                            log: @escaping (String) -> Void = { _ in }) throws -> RunSession {
        // before any check: a second process on this folder stops here, the first is untouched
        let lock = writer ? try RunLock.acquire(folder, create: !resume) : nil
        let config: RunConfig
        let prepared: PreparedData
        var imported: ImportedModel?
        if resume {
            guard folder.hasCheckpoint else {
                throw RunSessionError.nothingToResume(folder: folder.url.path, checkpoint: folder.checkpointURL.path)
            }
            config = try folder.readConfig()
            prepared = try PreparedData.prepare(config.data)
        } else {
            if folder.hasCheckpoint { throw RunSessionError.runExists(folder: folder.url.path) }
            try request.training.validate()
            var dataConfig = request.data
            dataConfig.splitSeed = request.training.seed
            if FileManager.default.fileExists(atPath: folder.importedModelURL.path) {
                let weights = try ImportedModel.open(folder)
                let (forWeights, data) = try weights.prepare(dataConfig)
                log("starting from the weights imported from \(weights.report.source) (\(weights.report.loaded) tensors)")
                (config, prepared, imported) = (RunConfig(model: weights.manifest.architecture, data: forWeights,
                                                          training: request.training, threads: Runtime.threadCount),
                                                data, weights)
            } else {
                dataConfig.padTo = dataConfig.padTo ?? DataConfig().padTo
                // the architecture needs the class and channel counts: read them from the data
                prepared = try PreparedData.prepare(dataConfig)
                config = RunConfig(model: request.architecture(for: prepared), data: dataConfig,
                                   training: request.training, threads: Runtime.threadCount)
            }
        }
        if let named = config.training.regularizer.blocks {
            let names = try config.model.build().collapsibleBlockNames
            for block in named where !names.contains(block) {
                throw RunSessionError.unknownBlock(block, model: config.model.label, collapsible: names)
            }
        }
        if writer {
            try folder.create()
            if !resume { try folder.writeConfig(config) }
        }
        log("data: \(prepared.label)")
        log("model: \(config.model.label); \(config.training.summary)")
        let network = try imported?.model ?? config.model.build(generator: Generator(seed: config.training.seed))
        if config.training.regularizer.zeroInitResidual, imported == nil, !resume {
            let zeroed = try ResidualInit.zeroLastNorm(of: config.training.regularizer.blocks ?? network.collapsibleBlockNames, in: network)
            log("zero-initialized residual branches: "
                + (zeroed.isEmpty ? "none (no BatchNorm in the blocks)" : zeroed.joined(separator: ", ")))
        }
        return RunSession(folder: folder, lock: lock, config: config, data: prepared, network: network,
                          isImported: imported != nil, log: log)
    }

    /// A new run whose configuration and data the caller already has (the demo's arms share
    /// one prepared data set): writes the configuration and builds the network from the seed.
    /// The caller holds the lock of the folder above.
    public static func create(_ folder: RunFolder, config: RunConfig, data: PreparedData,
                              log: @escaping (String) -> Void = { _ in }) throws -> RunSession {
        try folder.create()
        try folder.writeConfig(config)
        let network = try config.model.build(generator: Generator(seed: config.training.seed))
        return RunSession(folder: folder, lock: nil, config: config, data: data, network: network, isImported: false,
                          log: log)
    }

    /// A trainer for the network, with the session's progress, log and cancellation.
    public func trainer(device: Device = .cpu) throws -> Trainer {
        let trainer = try Trainer(model: network, config: config.training, normalization: data.normalization, device: device)
        trainer.showProgress = showProgress
        trainer.log = log
        trainer.cancellation = cancellation
        return trainer
    }

    /// Trains (or, with `resume`, goes on training) the network with `trainer` (default: the
    /// session's own), checkpointing into the folder. Returns the epochs' metrics.
    @discardableResult
    public func train(with trainer: Trainer? = nil, device: Device = .cpu, resume: Bool = false) throws -> [EpochMetrics] {
        let trainer = try trainer ?? self.trainer(device: device)
        return try trainer.fit(train: data.train, validation: data.validation, runFolder: folder, runConfig: config,
                               resume: resume)
    }

    /// The network's test accuracy (the run's precision).
    public func testAccuracy() throws -> Double {
        try Evaluation.accuracy(of: network, on: data.test, normalization: data.normalization,
                                precision: config.training.execution.precision)
    }
}

/// Why a run folder could not be opened to train in.
public enum RunSessionError: Error, CustomStringConvertible, Equatable {
    /// Resuming a folder without a checkpoint.
    case nothingToResume(folder: String, checkpoint: String)
    /// A new run into a folder that already holds one.
    case runExists(folder: String)
    /// The training configuration names a block the model does not have.
    case unknownBlock(String, model: String, collapsible: [String])

    public var description: String {
        switch self {
        case let .nothingToResume(folder, checkpoint):
            return "no checkpoint to resume in \(folder) (expected \(checkpoint))"
        case let .runExists(folder):
            return "\(folder) already holds a run"
        case let .unknownBlock(block, model, collapsible):
            return "\"\(block)\" is not a collapsible block of \(model) (collapsible: \(collapsible.joined(separator: ", ")))"
        }
    }
}
