import ArgumentParser
import LacootSupport
import Foundation
import LacootWorkflow
import Models

/// How the commands that read a model (`evaluate`, `score`, `collapse`) get it and its data:
/// a trained run brings its own data (config.json), while imported weights and a model file
/// take the data flags, prepared for the model's input (``ModelInput``).
extension DataOptions {
    /// The run in `runDirectory`: a trained run (data flags refused: its data is in its
    /// config.json) or the weights `lacoot import` left there, with the data the flags name.
    func openRun(_ runDirectory: String) throws -> TrainedRun {
        let folder = RunFolder(runDirectory)
        if ImportedModel.isImported(folder) {
            return try usageErrorsOfTheFlags {
                try TrainedRun.open(folder, data: config(seed: TrainingConfig().seed, forModelFile: true))
            }
        }
        if isGiven, FileManager.default.fileExists(atPath: folder.configURL.path) {
            throw ValidationError("--dataset and the other data flags are for imported weights or a model file: \(runDirectory) is a trained run whose data is in \(folder.configURL.path); drop them")
        }
        return try TrainedRun.open(folder)
    }

    /// The data the flags name, prepared for the model `manifest` describes (`source`: its file).
    func prepare(for manifest: ModelManifest, source: String) throws -> PreparedData {
        try usageErrorsOfTheFlags {
            try ModelInput.prepare(config(seed: TrainingConfig().seed, forModelFile: true), for: manifest, source: source).data
        }
    }
}

/// Runs `body`, turning a ``ModelInputError`` that the command's flags settle into a usage
/// error (exit 2).
func usageErrorsOfTheFlags<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ModelInputError where error.isUsage {
        throw ValidationError(error.description)
    }
}

/// How `train` and `compress` open their run folder: the flags mapped to a
/// ``RunSession/Request``, the session's progress and log following `--quiet`, Ctrl-C and
/// SIGTERM finishing the step, and the session's errors worded for the flags.
extension RunSession {
    /// `training` is only used (and validated) for a new run; a resumed run's comes from its
    /// folder. A data-parallel rank other than 0 (`writer` false) neither locks nor writes it.
    static func open(runDirectory: String, resume: Bool, training: TrainingConfig, data: DataOptions,
                     model: ModelOptions, runtime: RuntimeOptions, writer: Bool = true) throws -> RunSession {
        var request = Request(model: model.model)
        request.training = training
        request.data = data.config(seed: training.seed, forModelFile: true)
        request.sizes = model.sizes
        let session: RunSession
        do {
            session = try usageErrorsOfTheFlags {
                try open(RunFolder(runDirectory), resume: resume, request: request, writer: writer) { runtime.log($0) }
            }
        } catch let error as RunSessionError {
            switch error {
            case let .nothingToResume(_, checkpoint):
                throw UsageError.nothingToResume(runDirectory: runDirectory, checkpoint: checkpoint)
            case .runExists:
                throw UsageError.runExists(runDirectory: runDirectory)
            case let .unknownBlock(block, model, collapsible):
                throw UsageError.unknownBlock(flag: "blocks", block: block, model: model, collapsible: collapsible)
            }
        }
        session.showProgress = runtime.showProgress
        let cancellation = CancellationToken()
        cancellation.installSignalHandlers()
        session.cancellation = cancellation
        return session
    }
}

extension ModelOptions {
    /// The family whose recipe, compress defaults and tap rules apply to a run in
    /// `runDirectory`: the weights' in a folder `lacoot import` made (there the model flags
    /// do not choose the architecture), the `--model` flag's otherwise.
    func family(forRunIn runDirectory: String) -> ModelFamily {
        let folder = RunFolder(runDirectory)
        guard ImportedModel.isImported(folder), let manifest = try? ModelFile.manifest(at: folder.importedModelURL),
              let family = ModelRegistry.family(of: manifest.architecture.kind) else { return model.family }
        return family
    }
}
