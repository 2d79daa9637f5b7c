import Datasets
import Foundation
import LaCoOT
import LacootRecords
import LacootReport
import LacootSupport
import Models

/// Where the data comes from and how it is prepared (part of a run's configuration).
public struct DataConfig: Codable, Sendable, Equatable {
    /// A `DatasetKind` name: "fashion-mnist", "mnist", "cifar10", "cifar100", "tiny-imagenet", "folder",
    /// "flowers102", "dtd", "aircraft", "pacs", "vlcs".
    public var dataset: String = "fashion-mnist"
    /// Folder with the files (nil = the dataset's default, e.g. Debian's Fashion-MNIST).
    public var directory: String? = nil
    /// Share of the training set held out for validation (the reference: 10 %).
    public var validationFraction: Double = 0.1
    /// Zero-pad images to this size (Fashion-MNIST 28 → 32 so the CIFAR stems apply).
    public var padTo: Int? = 32
    /// Resize/crop size for image folders (nil = the dataset's default, 224 for Flowers-102,
    /// DTD, FGVC-Aircraft, PACS and VLCS).
    public var imageSize: Int? = nil
    /// DTD's split, 1...10 (nil = 1; absent from older config files).
    public var splitIndex: Int? = nil
    /// PACS/VLCS: the domain held out for test (nil = all domains pooled, split 80/10/10).
    public var targetDomain: String? = nil
    /// Use only the first N training samples (quick runs); nil = all.
    public var trainLimit: Int? = nil
    /// Use only the first N test samples; nil = all.
    public var testLimit: Int? = nil
    /// Normalization; nil = the dataset's known statistics, or computed from the training split.
    public var normalization: Normalization? = nil
    /// Repeat grayscale images into this many channels (nil = as stored), for a model that
    /// expects colour (imported ImageNet weights).
    public var channels: Int? = nil
    /// The most pixels an image may have, as its header promises or once resized (nil: the
    /// default of ``ImageCodec/pixelLimit``).
    public var maxImagePixels: Int? = nil
    public var splitSeed: UInt64 = 0

    public init() {}
}

/// A run's full configuration, saved as `config.json` in its folder.
public struct RunConfig: Codable, Sendable, Equatable {
    public var model: ModelArchitecture
    public var data: DataConfig
    public var training: TrainingConfig
    public var threads: Int?

    public init(model: ModelArchitecture, data: DataConfig, training: TrainingConfig, threads: Int? = nil) {
        self.model = model
        self.data = data
        self.training = training
        self.threads = threads
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// A run's folder: `config.json`, `metrics.jsonl` (one epoch per line), `checkpoint.safetensors`,
/// scores, reports and the collapsed model.
public struct RunFolder: Sendable {
    public let url: URL

    public init(_ path: String) { url = URL(fileURLWithPath: path) }
    public init(url: URL) { self.url = url }

    public var configURL: URL { url.appendingPathComponent("config.json") }
    public var metricsURL: URL { url.appendingPathComponent("metrics.jsonl") }
    public var checkpointURL: URL { url.appendingPathComponent("checkpoint.safetensors") }
    public var scoresURL: URL { url.appendingPathComponent("scores.json") }
    public var reportJSONURL: URL { url.appendingPathComponent("report.json") }
    public var reportMarkdownURL: URL { url.appendingPathComponent("report.md") }
    public var reportHTMLURL: URL { url.appendingPathComponent("report.html") }
    /// The model frozen at the block selection, which a `compress` run with distillation learns from.
    public var teacherURL: URL { url.appendingPathComponent("teacher.safetensors") }
    public var collapsedModelURL: URL { url.appendingPathComponent("collapsed.safetensors") }
    public var collapsedManifestURL: URL { url.appendingPathComponent("collapsed.json") }
    /// Weights brought in by `lacoot import` (a model file: weights + manifest), where
    /// training starts from.
    public var importedModelURL: URL { url.appendingPathComponent("imported.safetensors") }
    /// What `lacoot import` read, matched and re-initialized, and the model's input.
    public var importReportURL: URL { url.appendingPathComponent("import.json") }

    /// Writes a report as report.json, report.md and report.html (each atomically).
    public func writeReport(_ report: CollapseReport) throws {
        try AtomicFile.writeJSON(report, to: reportJSONURL)
        try AtomicFile.write(report.markdown(), to: reportMarkdownURL)
        try AtomicFile.write(report.html(), to: reportHTMLURL)
    }

    /// Creates the folder (and parents) if needed.
    public func create() throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw RunFolderError.cannotCreate(folder: url.path, reason: error.localizedDescription)
        }
    }

    public func writeConfig(_ config: RunConfig) throws {
        try AtomicFile.write(Data(try config.json().utf8), to: configURL)
    }

    public func readConfig() throws -> RunConfig {
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw RunFolderError.missingFile(path: configURL.path, hint: "is \(url.path) a run folder made by `lacoot train`?")
        }
        if let problem = RegularFile.problem(at: configURL.path) {
            throw RunFolderError.invalidFile(path: configURL.path, expected: "run configuration", detail: problem)
        }
        do {
            return try JSONDecoder().decode(RunConfig.self, from: Data(contentsOf: configURL))
        } catch {
            throw RunFolderError.invalidFile(path: configURL.path, expected: "run configuration", detail: "\(error)")
        }
    }

    /// Rewrites `metrics.jsonl` with these epochs (atomic).
    public func writeMetrics(_ epochs: [EpochMetrics]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var text = ""
        for e in epochs { text += String(decoding: try encoder.encode(e), as: UTF8.self) + "\n" }
        try AtomicFile.write(Data(text.utf8), to: metricsURL)
    }

    /// The epochs recorded so far (empty when there is no file).
    public func readMetrics() throws -> [EpochMetrics] {
        guard let data = FileManager.default.contents(atPath: metricsURL.path) else { return [] }
        var out: [EpochMetrics] = []
        for (i, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() where !line.isEmpty {
            do {
                out.append(try JSONDecoder().decode(EpochMetrics.self, from: Data(line.utf8)))
            } catch {
                throw RunFolderError.invalidLine(path: metricsURL.path, line: i + 1, expected: "epoch record")
            }
        }
        return out
    }

    public var hasCheckpoint: Bool { FileManager.default.fileExists(atPath: checkpointURL.path) }
}

/// A run folder's files are missing or not what they should be. Each case names the file.
/// (A collapsed model's files throw ``ModelError``, from Models, which reads them.)
public enum RunFolderError: Error, CustomStringConvertible, Sendable {
    /// The folder could not be created.
    case cannotCreate(folder: String, reason: String)
    /// A file is missing; `hint` says how to get it.
    case missingFile(path: String, hint: String)
    /// A file does not decode as the `expected` kind of file.
    case invalidFile(path: String, expected: String, detail: String)
    /// Line `line` of a line-per-record file is not a valid `expected`.
    case invalidLine(path: String, line: Int, expected: String)
    /// The weights in `weights` do not fit `model`; `report` lists the missing/unexpected keys.
    case weightsMismatch(weights: String, model: String, report: String)
    /// config.json no longer describes the model or data its checkpoint was trained with.
    case configChanged(config: String, checkpoint: String, differences: [String])

    /// The file or folder concerned.
    public var path: String {
        switch self {
        case let .cannotCreate(folder, _): return folder
        case let .missingFile(path, _), let .invalidFile(path, _, _), let .invalidLine(path, _, _): return path
        case let .weightsMismatch(weights, _, _): return weights
        case let .configChanged(config, _, _): return config
        }
    }

    public var description: String {
        switch self {
        case let .cannotCreate(folder, reason): return "cannot create run folder \(folder): \(reason)"
        case let .missingFile(path, hint): return "\(path) not found: \(hint)"
        case let .invalidFile(path, expected, detail): return "\(path) is not a valid \(expected): \(detail)"
        case let .invalidLine(path, line, expected): return "\(path) line \(line) is not a valid \(expected)"
        case let .weightsMismatch(weights, model, report): return "\(weights) does not match \(model): \(report)"
        case let .configChanged(config, checkpoint, differences):
            return "\(config) no longer describes the run \(checkpoint) was trained in (\(differences.joined(separator: "; "))); restore it or train again"
        }
    }
}
