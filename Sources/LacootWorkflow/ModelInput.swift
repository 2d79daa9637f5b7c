import Datasets
import Foundation
import Models

/// The data a saved model expects. A model file (imported weights, a collapsed model) records
/// its input — channels, image size, normalization, class count — and whatever dataset a
/// command names is prepared to fit it, the way `lacoot predict` prepares a single image:
/// grayscale repeated to the model's channels, smaller images zero-padded and centred to the
/// model's size, resizable ones (image folders, the transfer datasets) decoded at that size,
/// normalized with the model's statistics.
///
/// ```swift
/// let (model, manifest) = try ModelFile.load(from: url)
/// var flags = DataConfig(); flags.dataset = "cifar10"; flags.padTo = nil
/// let data = try ModelInput.prepare(flags, for: manifest, source: url.path)
/// ```
public enum ModelInput {
    /// `base` (the data the user named) made to fit `manifest`. In `base`, a nil `padTo` or
    /// `imageSize` means "not given": both become the model's side; a given one must be it.
    /// With `anySize` (a convolutional network imported without a size) the data keeps its
    /// own size: `padTo` defaults as for a new run, `imageSize` as given.
    public static func dataConfig(_ base: DataConfig, for manifest: ModelManifest, source: String,
                                  anySize: Bool = false) throws -> DataConfig {
        var config = base
        if anySize {
            config.padTo = base.padTo ?? DataConfig().padTo
        } else {
            let side = manifest.inputSide
            for (flag, value) in [("pad-to", base.padTo), ("image-size", base.imageSize)] {
                if let value, value != side { throw ModelInputError.sizeFlag(flag: flag, given: value, side: side, source: source) }
            }
            config.padTo = side
            config.imageSize = side
        }
        config.channels = manifest.architecture.inputChannels
        if let n = manifest.normalization { config.normalization = Normalization(mean: n.mean, std: n.std) }
        return config
    }

    /// Loads the data ``dataConfig(_:for:source:)`` describes and checks that it fits the
    /// model (``check(_:against:source:)``). Returns the configuration used with the data.
    public static func prepare(_ base: DataConfig, for manifest: ModelManifest, source: String,
                               anySize: Bool = false) throws -> (config: DataConfig, data: PreparedData) {
        let config = try dataConfig(base, for: manifest, source: source, anySize: anySize)
        let data = try PreparedData.prepare(config)
        try check(data, against: manifest, source: source, anySize: anySize)
        return (config, data)
    }

    /// The data must have the model's class count and, once prepared, its image size (images
    /// larger than the model's input that no resize applies to — CIFAR's 32×32 for a 16×16
    /// model — are refused rather than fed at another size than the model was told).
    public static func check(_ data: PreparedData, against manifest: ModelManifest, source: String,
                             anySize: Bool = false) throws {
        let classes = manifest.architecture.classCount
        guard data.train.classCount == classes else {
            throw ModelInputError.classCount(model: classes, data: data.train.classCount, dataset: data.label, source: source)
        }
        if anySize { return }
        let side = manifest.inputSide
        let height = data.train.height, width = data.train.width
        guard height == side, width == side else {
            throw ModelInputError.imageSize(side: side, height: height, width: width, dataset: data.label, source: source)
        }
    }
}

/// Data that does not fit a saved model. Each case names the model file and the flag or
/// dataset concerned.
public enum ModelInputError: Error, CustomStringConvertible, Equatable, Sendable {
    /// `--pad-to` or `--image-size` asks for another size than the model takes.
    case sizeFlag(flag: String, given: Int, side: Int, source: String)
    /// The data has another class count than the model's classifier.
    case classCount(model: Int, data: Int, dataset: String, source: String)
    /// The prepared images are not the model's size.
    case imageSize(side: Int, height: Int, width: Int, dataset: String, source: String)

    /// Whether the user settles it with the command's flags (a usage error, exit 2).
    public var isUsage: Bool {
        switch self {
        case .sizeFlag, .classCount: true
        case .imageSize: false
        }
    }

    public var description: String {
        switch self {
        case let .sizeFlag(flag, given, side, source):
            return "--\(flag) \(given): \(source) takes \(side)×\(side) images (what it was imported or trained at); drop --\(flag)"
        case let .classCount(model, data, dataset, source):
            return "\(source) classifies \(model) classes, the data \(data) (\(dataset)): choose the dataset it was made for, "
                + "or import the weights again with --classes \(data)"
        case let .imageSize(side, height, width, dataset, source):
            return "\(source) takes \(side)×\(side) images, the data's are \(height)×\(width) (\(dataset)): "
                + "import the weights again with --image-size \(height), or choose data of its size"
        }
    }
}
