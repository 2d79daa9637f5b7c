import Datasets
import Foundation
import LaCoOT
import LacootReport
import LacootSupport
import Models

/// Where the data comes from and how it is prepared (part of a run's configuration).
public struct DataConfig: Codable, Sendable, Equatable {
    /// A `DatasetKind` name: "fashion-mnist", "mnist", "cifar10", "cifar100", "tiny-imagenet", "folder".
    public var dataset: String = "fashion-mnist"
    /// Folder with the files (nil = the dataset's default, e.g. Debian's Fashion-MNIST).
    public var directory: String? = nil
    /// Share of the training set held out for validation (the reference: 10 %).
    public var validationFraction: Double = 0.1
    /// Zero-pad images to this size (Fashion-MNIST 28 → 32 so the CIFAR stems apply).
    public var padTo: Int? = 32
    /// Resize/crop size for image folders.
    public var imageSize: Int? = nil
    /// Use only the first N training samples (quick runs); nil = all.
    public var trainLimit: Int? = nil
    /// Use only the first N test samples; nil = all.
    public var testLimit: Int? = nil
    /// Normalization; nil = the dataset's known statistics, or computed from the training split.
    public var normalization: Normalization? = nil
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
    public var collapsedModelURL: URL { url.appendingPathComponent("collapsed.safetensors") }
    public var collapsedManifestURL: URL { url.appendingPathComponent("collapsed.json") }

    /// Creates the folder (and parents) if needed.
    public func create() throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw RunFolderError("cannot create run folder \(url.path): \(error.localizedDescription)")
        }
    }

    public func writeConfig(_ config: RunConfig) throws {
        try AtomicFile.write(Data(try config.json().utf8), to: configURL)
    }

    public func readConfig() throws -> RunConfig {
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw RunFolderError("\(configURL.path) not found: is \(url.path) a run folder made by `lacoot train`?")
        }
        do {
            return try JSONDecoder().decode(RunConfig.self, from: Data(contentsOf: configURL))
        } catch {
            throw RunFolderError("\(configURL.path) is not a valid run configuration: \(error)")
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
                throw RunFolderError("\(metricsURL.path) line \(i + 1) is not a valid epoch record")
            }
        }
        return out
    }

    public var hasCheckpoint: Bool { FileManager.default.fileExists(atPath: checkpointURL.path) }
}

/// A problem with a run folder; the message names the file.
public struct RunFolderError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
