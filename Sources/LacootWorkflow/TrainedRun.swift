import Datasets
import Foundation
import LaCoOT
import LacootReport
import LacootSupport
import Models
import NN
import Torch

/// A run folder opened for scoring, collapsing or evaluating: its configuration, its data
/// and its model with the checkpoint's weights.
public struct TrainedRun {
    public let folder: RunFolder
    public let config: RunConfig
    public let model: any CollapsibleModel
    public let data: PreparedData
    /// Epochs the checkpoint holds.
    public let epochs: Int

    /// Reads `config.json`, loads the data and the checkpoint (strictly: every key and shape
    /// must match the configured model).
    public static func open(_ folder: RunFolder) throws -> TrainedRun {
        let config = try folder.readConfig()
        guard folder.hasCheckpoint else {
            throw RunFolderError.missingFile(path: folder.checkpointURL.path, hint: "train first (lacoot train --run-dir \(folder.url.path))")
        }
        let checkpoint = try TrainingCheckpoint.load(from: folder.checkpointURL)
        let model = try config.model.build()
        let report = try model.load(stateDict: checkpoint.model, strict: false)
        guard report.isClean else {
            throw RunFolderError.weightsMismatch(weights: folder.checkpointURL.path,
                                                 model: "the model in \(folder.configURL.path) (\(config.model.label))",
                                                 report: report.description)
        }
        let data = try PreparedData.prepare(config.data)
        return TrainedRun(folder: folder, config: config, model: model, data: data, epochs: checkpoint.epoch)
    }
}
