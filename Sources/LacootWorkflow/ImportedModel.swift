import Datasets
import Foundation
import Models

/// The model `lacoot import` left in a run folder: `imported.safetensors` (weights and
/// manifest) and `import.json` (what was read, and the input the weights expect). What import
/// was told — image size, normalization, class count — is what every later command uses:
/// ``manifest`` carries it (for folders imported before the manifest recorded the size,
/// import.json's size and normalization are put into it).
public struct ImportedModel {
    public let model: any CollapsibleModel
    public let manifest: ModelManifest
    public let report: WeightImport.Report
    /// The model file, for messages.
    public let url: URL

    /// Whether `folder` holds imported weights and no training of them yet.
    public static func isImported(_ folder: RunFolder) -> Bool {
        !folder.hasCheckpoint && FileManager.default.fileExists(atPath: folder.importedModelURL.path)
    }

    /// Reads the folder's imported model and import report; errors name the file.
    public static func open(_ folder: RunFolder) throws -> ImportedModel {
        let (model, stored) = try ModelFile.load(from: folder.importedModelURL)
        let reportURL = folder.importReportURL
        guard let bytes = FileManager.default.contents(atPath: reportURL.path) else {
            throw RunFolderError.missingFile(path: reportURL.path, hint: "run lacoot import again into a new --run-dir")
        }
        let report: WeightImport.Report
        do {
            report = try JSONDecoder().decode(WeightImport.Report.self, from: bytes)
        } catch {
            throw RunFolderError.invalidFile(path: reportURL.path, expected: "import report", detail: "\(error)")
        }
        var manifest = stored
        if let size = report.imageSize { manifest.inputShape = [stored.architecture.inputChannels, size, size] }
        manifest.normalization = InputNormalization(mean: report.normalization.mean, std: report.normalization.std)
        return ImportedModel(model: model, manifest: manifest, report: report, url: folder.importedModelURL)
    }

    /// The data `base` names, prepared for the imported model (``ModelInput``).
    public func prepare(_ base: DataConfig) throws -> (config: DataConfig, data: PreparedData) {
        try ModelInput.prepare(base, for: manifest, source: url.path, anySize: takesAnySize)
    }

    /// Whether the weights were imported without a size (a convolutional network): the data
    /// keeps its own size, as for a new run (`--pad-to`, `--image-size`).
    public var takesAnySize: Bool { report.imageSize == nil }
}
