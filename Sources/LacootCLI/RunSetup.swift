import ArgumentParser
import Foundation
import LaCoOT
import LacootSupport
import LacootWorkflow
import Models
import Torch

/// What a training command (`train`, `compress`) starts from: the locked run folder, the run's
/// configuration (new, read back with `--resume`, or over weights `lacoot import` left in the
/// folder), the prepared data and the network to train.
struct RunSetup {
    let folder: RunFolder
    /// Held for the command's whole life: a second process on the folder stops at once.
    let lock: RunLock?
    let config: RunConfig
    let data: PreparedData
    let network: any CollapsibleModel

    /// Locks the folder, then builds or reads the configuration and writes it (new runs).
    /// `training` is only used (and validated) for a new run; a resumed run's comes from its
    /// folder. A data-parallel rank other than 0 (`writer`
    /// false) neither locks nor writes the folder: rank 0 does.
    static func open(runDirectory: String, resume: Bool, training config: TrainingConfig, data: DataOptions,
                     model: ModelOptions, runtime: RuntimeOptions, writer: Bool = true) throws -> RunSetup {
        let folder = RunFolder(runDirectory)
        // before any check: a second process on this folder stops here, the first is untouched
        let lock = writer ? try RunLock.acquire(folder, create: !resume) : nil
        let runConfig: RunConfig
        let prepared: PreparedData
        var imported: (any CollapsibleModel)?
        if resume {
            guard folder.hasCheckpoint else {
                throw UsageError.nothingToResume(runDirectory: runDirectory, checkpoint: folder.checkpointURL.path)
            }
            runConfig = try folder.readConfig()
            prepared = try PreparedData.prepare(runConfig.data)
        } else {
            if folder.hasCheckpoint {
                throw UsageError.runExists(runDirectory: runDirectory)
            }
            try config.validate()
            if FileManager.default.fileExists(atPath: folder.importedModelURL.path) {
                (runConfig, prepared, imported) = try startFromImport(folder, training: config, data: data, runtime: runtime)
            } else {
                let dataConfig = data.config(seed: config.seed)
                // the architecture needs the class and channel counts: read them from the data
                prepared = try PreparedData.prepare(dataConfig)
                runConfig = RunConfig(model: model.architecture(classCount: prepared.train.classCount,
                                                                inputChannels: prepared.train.channels,
                                                                imageSize: prepared.train.height),
                                      data: dataConfig, training: config, threads: Runtime.threadCount)
            }
        }
        if let blocksGiven = runConfig.training.blocks {
            let names = try runConfig.model.build().collapsibleBlockNames
            for b in blocksGiven where !names.contains(b) {
                throw UsageError.unknownBlock(flag: "blocks", block: b, model: runConfig.model.label, collapsible: names)
            }
        }
        if writer {
            try folder.create()
            if !resume { try folder.writeConfig(runConfig) }
        }
        runtime.log("data: \(prepared.label)")
        runtime.log("model: \(runConfig.model.label); \(runConfig.training.summary)")
        let network = try imported ?? runConfig.model.build(generator: Generator(seed: runConfig.training.seed))
        if runConfig.training.zeroInitResidual, imported == nil, !resume {
            let zeroed = try ResidualInit.zeroLastNorm(of: runConfig.training.blocks ?? network.collapsibleBlockNames, in: network)
            runtime.log("zero-initialized residual branches: " + (zeroed.isEmpty ? "none (no BatchNorm in the blocks)" : zeroed.joined(separator: ", ")))
        }
        return RunSetup(folder: folder, lock: lock, config: runConfig, data: prepared, network: network)
    }

    /// A trainer for the run, with progress, logging and Ctrl-C/SIGTERM handling.
    func trainer(device: Device, runtime: RuntimeOptions) throws -> Trainer {
        let trainer = try Trainer(model: network, config: config.training, normalization: data.normalization, device: device)
        trainer.showProgress = runtime.showProgress
        trainer.log = { runtime.log($0) }
        let cancellation = CancellationToken()
        cancellation.installSignalHandlers()
        trainer.cancellation = cancellation
        return trainer
    }

    /// The run of a folder made by `lacoot import`: its architecture and weights, the data the
    /// flags name prepared the way the weights expect (``ModelInput``: their channels, image
    /// size and normalization, as import recorded them); the model's flags are not used.
    private static func startFromImport(_ folder: RunFolder, training: TrainingConfig, data: DataOptions,
                                        runtime: RuntimeOptions) throws -> (RunConfig, PreparedData, any CollapsibleModel) {
        let imported = try ImportedModel.open(folder)
        let (dataConfig, prepared) = try usageErrorsOfTheFlags {
            try imported.prepare(data.config(seed: training.seed, forModelFile: true))
        }
        runtime.log("starting from the weights imported from \(imported.report.source) (\(imported.report.loaded) tensors)")
        let config = RunConfig(model: imported.manifest.architecture, data: dataConfig, training: training,
                               threads: Runtime.threadCount)
        return (config, prepared, imported.model)
    }
}
