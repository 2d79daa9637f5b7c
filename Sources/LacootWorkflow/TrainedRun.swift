import Datasets
import Foundation
import LaCoOT
import LacootSupport
import Models
import NN
import Optim
import Torch

/// A run folder opened for scoring, collapsing or evaluating: its configuration, its data
/// and its model with the checkpoint's weights — or, in a folder `lacoot import` made and
/// nothing trained yet, the imported weights with the data the caller names.
public struct TrainedRun {
    public let folder: RunFolder
    /// The run's configuration; for imported weights, their architecture, the data prepared
    /// for them and the default training configuration (nothing was trained).
    public let config: RunConfig
    public let model: any CollapsibleModel
    public let data: PreparedData
    /// Epochs the checkpoint holds (0 for imported weights).
    public let epochs: Int
    /// The imported model, when the folder holds imported weights and no checkpoint.
    public var imported: ImportedModel? = nil

    /// The file the weights come from: the checkpoint, or the imported model.
    public var weightsURL: URL { imported == nil ? folder.checkpointURL : folder.importedModelURL }

    /// Opens a run folder. A trained run: reads `config.json`, loads its data and the
    /// checkpoint (strictly: every key and shape must match the configured model); `data` must
    /// be nil (the run's data is in its config). Imported weights (``ImportedModel``): the data
    /// `data` names (default: Fashion-MNIST) prepared for them (``ModelInput``).
    public static func open(_ folder: RunFolder, data: DataConfig? = nil) throws -> TrainedRun {
        if ImportedModel.isImported(folder) {
            let imported = try ImportedModel.open(folder)
            var base = DataConfig()
            base.padTo = nil
            let (dataConfig, prepared) = try imported.prepare(data ?? base)
            let config = RunConfig(model: imported.manifest.architecture, data: dataConfig, training: TrainingConfig())
            return TrainedRun(folder: folder, config: config, model: imported.model, data: prepared, epochs: 0, imported: imported)
        }
        let config = try folder.readConfig()
        guard folder.hasCheckpoint else {
            throw RunFolderError.missingFile(path: folder.checkpointURL.path, hint: "train first (lacoot train --run-dir \(folder.url.path))")
        }
        let checkpoint = try TrainingCheckpoint.load(from: folder.checkpointURL)
        try checkAgainstCheckpoint(config, checkpoint.configuration, folder: folder)
        let model = try config.model.build()
        let report = try model.load(stateDict: checkpoint.model, strict: false)
        guard report.isClean else {
            throw RunFolderError.weightsMismatch(weights: folder.checkpointURL.path,
                                                 model: "the model in \(folder.configURL.path) (\(config.model.label))",
                                                 report: report.description)
        }
        try applyIdentityPath(of: checkpoint, to: model)
        let data = try PreparedData.prepare(config.data)
        return TrainedRun(folder: folder, config: config, model: model, data: data, epochs: checkpoint.epoch)
    }

    /// A `compress` run with an identity path trained its chosen blocks at a residual scale below
    /// 1 (0 once the path ended): the model is what it computed only with those scales, which
    /// the checkpoint's adaptive-λ state gives.
    static func applyIdentityPath(of checkpoint: TrainingCheckpoint, to model: any CollapsibleModel) throws {
        try Trainer.adaptiveState(in: checkpoint)?.applyResidualScales(to: model)
    }

    /// A JSON value as text with sorted keys ("none" when absent), so equal values compare equal.
    private static func canonical(_ value: Any?) throws -> String {
        guard let value, !(value is NSNull) else { return "none" }
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }

    /// The fields in which two encodings differ, sections followed down to the field, as
    /// "part section.key: a in config.json vs b in the checkpoint".
    private static func fieldDifferences<T: Encodable>(_ part: String, _ config: T, _ trained: T) throws -> [String] {
        let mine = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any] ?? [:]
        let theirs = try JSONSerialization.jsonObject(with: JSONEncoder().encode(trained)) as? [String: Any] ?? [:]
        return try differences(mine, theirs, path: "").map { "\(part) \($0)" }
    }

    private static func differences(_ mine: [String: Any], _ theirs: [String: Any], path: String) throws -> [String] {
        try Set(mine.keys).union(theirs.keys).sorted().flatMap { key -> [String] in
            let name = path + key
            if let a = mine[key] as? [String: Any], let b = theirs[key] as? [String: Any] {
                return try differences(a, b, path: name + ".")
            }
            let a = try canonical(mine[key]), b = try canonical(theirs[key])
            return a == b ? [] : ["\(name): \(a) in config.json vs \(b) in the checkpoint"]
        }
    }

    /// config.json must describe the model, data and training the checkpoint was trained with
    /// (the checkpoint keeps the configuration it was trained under): a hand-edited dataset,
    /// model or normalization, or another run's checkpoint copied in, is named instead of
    /// silently scoring those weights as this run's. A
    /// checkpoint without a readable configuration (written elsewhere) is not compared.
    static func checkAgainstCheckpoint(_ config: RunConfig, _ stored: String, folder: RunFolder) throws {
        guard let trained = try? JSONDecoder().decode(RunConfig.self, from: Data(stored.utf8)) else { return }
        var differences = config.model.differences(from: trained.model).map { "model \($0)" }
        differences += try fieldDifferences("data", config.data, trained.data)
        // another run's checkpoint copied in (or its λ, seed, epochs… edited in config.json)
        differences += try fieldDifferences("training", config.training, trained.training)
        guard differences.isEmpty else {
            throw RunFolderError.configChanged(config: folder.configURL.path, checkpoint: folder.checkpointURL.path,
                                               differences: differences)
        }
    }
}
