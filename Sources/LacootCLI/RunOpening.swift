import ArgumentParser
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
