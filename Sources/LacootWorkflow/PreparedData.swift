import Datasets
import Foundation
import LaCoOT
import LacootSupport

/// The three splits of a run, ready for loaders: train and validation (a seeded split of the
/// training set) and the separate test set, with the normalization to apply.
public struct PreparedData: Sendable {
    public var train: ImageDataset
    public var validation: ImageDataset
    public var test: ImageDataset
    public var normalization: Normalization
    public var classNames: [String]
    /// e.g. "fashion-mnist (54000 train / 6000 validation / 10000 test, padded to 32×32)"
    public var label: String

    /// Splits a user already has (a library user's own datasets).
    public init(train: ImageDataset, validation: ImageDataset, test: ImageDataset, normalization: Normalization,
                classNames: [String] = [], label: String = "") {
        self.train = train
        self.validation = validation
        self.test = test
        self.normalization = normalization
        self.classNames = classNames
        self.label = label
    }

    /// Loads and splits the data a `DataConfig` describes. Errors name the missing file or
    /// folder and what to install.
    public static func prepare(_ config: DataConfig) throws -> PreparedData {
        guard let kind = DatasetKind(rawValue: config.dataset) else {
            throw ConfigurationError.unknownChoice(flag: "dataset", value: config.dataset,
                                                   choices: DatasetKind.allCases.map(\.rawValue))
        }
        guard config.validationFraction > 0, config.validationFraction < 1 else {
            throw ConfigurationError.outOfRange(flag: "val-fraction", problem: "must be in (0, 1), got \(config.validationFraction)")
        }
        for (flag, value) in [("pad-to", config.padTo), ("image-size", config.imageSize)] {
            if let value, !(1...4096).contains(value) {
                throw ConfigurationError.outOfRange(flag: flag, problem: "must be in 1...4096, got \(value)")
            }
        }
        if let limit = config.maxImagePixels {
            guard limit > 0 else { throw ConfigurationError.outOfRange(flag: "max-image-pixels", problem: "must be at least 1, got \(limit)") }
            ImageCodec.pixelLimit.store(limit, ordering: .relaxed)
        }
        for (flag, value) in [("train-limit", config.trainLimit), ("test-limit", config.testLimit)] {
            if let value, value < 1 { throw ConfigurationError.outOfRange(flag: flag, problem: "must be at least 1, got \(value)") }
        }
        let layout = LayoutOptions(splitIndex: config.splitIndex, targetDomain: config.targetDomain, seed: config.splitSeed)
        var full = try kind.load(directory: config.directory, train: true, imageSize: config.imageSize, options: layout)
        var test = try kind.load(directory: config.directory, train: false, imageSize: config.imageSize, options: layout)
        var paddedTo: Int?
        if let size = config.padTo, size > full.height || size > full.width {
            paddedTo = size
            full = try full.padded(toHeight: size, width: size)
            test = try test.padded(toHeight: size, width: size)
        }
        if let limit = config.trainLimit { full = try full.limited(to: max(limit, 2), seed: config.splitSeed) }
        if let limit = config.testLimit { test = try test.limited(to: max(limit, 1), seed: config.splitSeed) }
        if let channels = config.channels, channels != full.channels {
            full = try full.repeatingChannels(to: channels)
            test = try test.repeatingChannels(to: channels)
        }
        // Pooled PACS/VLCS: the loader set a tenth aside for test, so --val-fraction counts in the
        // whole pool (0.1 gives EASIER's 80/10/10). Every other dataset, including those with an
        // official validation split (Flowers-102, DTD, FGVC-Aircraft), carves validation from train.
        var validationFraction = config.validationFraction
        if kind.hasDomains, config.targetDomain == nil {
            validationFraction /= 1 - DomainFolderLayout.pooledTestShare
            guard validationFraction < 1 else {
                throw ConfigurationError.outOfRange(flag: "val-fraction",
                                                    problem: "must be below \(1 - DomainFolderLayout.pooledTestShare) for pooled \(kind.rawValue) (a tenth is test), got \(config.validationFraction)")
            }
        }
        let split = try full.split(validationFraction: validationFraction, seed: config.splitSeed)
        let known = kind.knownNormalization.flatMap { $0.mean.count == full.channels ? $0 : nil }
        let normalization = config.normalization ?? known ?? Normalization.computed(from: split.train)
        guard normalization.mean.count == full.channels, normalization.std.count == full.channels else {
            throw ConfigurationError.outOfRange(flag: "normalization",
                                                problem: "has \(normalization.mean.count) channels, the images \(full.channels)")
        }
        var label = "\(config.dataset)\(config.targetDomain.map { " → \($0)" } ?? "") (\(split.train.count) train / \(split.validation.count) validation / \(test.count) test"
        if let size = paddedTo { label += ", padded to \(size)×\(size)" }
        label += ")"
        return PreparedData(train: split.train, validation: split.validation, test: test, normalization: normalization,
                            classNames: full.classNames, label: label)
    }
}
