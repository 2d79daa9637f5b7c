import Datasets
import Foundation
import Models

/// Where a model to classify with or deploy comes from — a run folder (trained by `train` or
/// `compress`, or made by `import`) or a model file — opened with what its users need: class
/// names, normalization and input shape (a ``Predictor``).
public enum ModelSource {
    /// The model of a run folder: its collapsed model when `collapsed` is true and the folder
    /// has one (`compress` and `collapse` write `collapsed.json`), else the trained or imported
    /// model. `log` receives one line on what was opened.
    public static func open(runDirectory: String, collapsed: Bool = false, log: (String) -> Void = { _ in }) throws -> Predictor {
        let folder = RunFolder(runDirectory)
        if collapsed, FileManager.default.fileExists(atPath: folder.collapsedManifestURL.path) {
            log("model: \(folder.collapsedManifestURL.path) (the collapsed model)")
            return try open(modelFile: folder.collapsedManifestURL.path, log: log)
        }
        if ImportedModel.isImported(folder) {
            let imported = try ImportedModel.open(folder)
            log("model: \(imported.url.path) (imported)")
            return try predictor(imported.model, imported.manifest, source: imported.url.path, log: log)
        }
        let run = try TrainedRun.open(folder)
        log("model: the trained model of \(runDirectory); input \(run.data.train.imageShape.map(String.init).joined(separator: "×")), "
            + "normalization \(run.data.normalization)")
        return try Predictor(model: run.model, classNames: run.data.classNames, normalization: run.data.normalization,
                         inputShape: run.data.train.imageShape)
    }

    /// A model file: `collapsed.json`, or a `.safetensors` written by lacoot.
    public static func open(modelFile path: String, log: (String) -> Void = { _ in }) throws -> Predictor {
        let (network, manifest) = try ModelFile.load(from: URL(fileURLWithPath: path))
        return try predictor(network, manifest, source: path, log: log)
    }

    /// A predictor for a model file: its input shape and normalization as its manifest records them.
    private static func predictor(_ network: any CollapsibleModel, _ manifest: ModelManifest, source: String,
                                  log: (String) -> Void) throws -> Predictor {
        let channels = manifest.architecture.inputChannels
        let shape = manifest.inputShape ?? [channels, manifest.inputSide, manifest.inputSide]
        let normalization = manifest.normalization.map { Normalization(mean: $0.mean, std: $0.std) } ?? .unit(channels: channels)
        if manifest.normalization == nil { log("warning: \(source) records no normalization; using pixel / 255") }
        log("input: \(shape.map(String.init).joined(separator: "×")), normalization \(normalization)")
        return try Predictor(model: network, classNames: manifest.classNames, normalization: normalization, inputShape: shape)
    }
}
