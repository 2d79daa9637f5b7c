import Datasets
import Foundation
import LaCoOT
import Models
import NN
import Torch

/// Runs a model on image files: decoded with the model's channel count, brought to its input
/// size — zero-padded and centred when smaller (as training padded Fashion-MNIST's 28×28 to
/// 32×32), otherwise resized (shorter side) and centre-cropped as torchvision's eval transform
/// —, normalized with the model's statistics, in batches, in eval mode.
public struct Predictor {
    /// One image's most likely classes.
    public struct Prediction: Codable, Sendable, Equatable {
        public struct Entry: Codable, Sendable, Equatable {
            public var `class`: String
            public var index: Int
            public var probability: Double
        }
        public var file: String
        public var top: [Entry]
    }

    public let model: any CollapsibleModel
    public let classNames: [String]
    public let normalization: Normalization
    /// [channels, height, width] the model takes.
    public let inputShape: [Int]
    /// What runs: the model's inference copy (BatchNorm folded, channels-last for CNNs), made
    /// once; `model` itself is left as it is.
    private let runner: any CollapsibleModel

    public init(model: any CollapsibleModel, classNames: [String], normalization: Normalization, inputShape: [Int]) throws {
        self.model = model
        self.classNames = classNames
        self.normalization = normalization
        self.inputShape = inputShape
        self.runner = try Collapser.inferenceCopy(of: model, inputShape: inputShape)
    }

    /// A file that could not be classified (missing, unreadable, not an image, too large):
    /// the file and the one-line reason, which names it.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var description: String
    }

    /// The `top` most likely classes of each file, in the files' order; the first file that
    /// cannot be classified throws.
    public func predict(files: [String], top: Int = 5, batchSize: Int = 64) throws -> [Prediction] {
        var predictions: [Prediction] = []
        try predict(files: files, top: top, batchSize: batchSize) { outcome in predictions.append(try outcome.get()) }
        return predictions
    }

    /// Classifies the files batch by batch and hands each one's outcome to `each`, in the
    /// files' order, as soon as its batch is done: a file that cannot be decoded is a
    /// ``Failure`` and the others are still classified. At most one batch of decoded images is
    /// held at a time, so memory is bounded by `batchSize`, not by the number of files.
    public func predict(files: [String], top: Int = 5, batchSize: Int = 64,
                        each: (Result<Prediction, Failure>) throws -> Void) throws {
        let k = min(max(top, 1), model.architecture.classCount)
        let imageSize = inputShape.reduce(1, *)
        for start in stride(from: 0, to: files.count, by: max(batchSize, 1)) {
            let batch = files[start..<min(files.count, start + max(batchSize, 1))]
            var pixels: [Float] = [], failures: [Int: Failure] = [:]
            pixels.reserveCapacity(batch.count * imageSize)
            for (i, file) in batch.enumerated() {
                do { pixels += try input(for: file) } catch {
                    failures[i] = Failure(file: file, description: "\(error)")
                }
            }
            var rows: [[Prediction.Entry]] = []
            if !pixels.isEmpty {
                rows = try classify(try Tensor(pixels, shape: [pixels.count / imageSize] + inputShape), top: k)
            }
            pixels.removeAll()
            var row = 0
            for (i, file) in batch.enumerated() {
                if let failure = failures[i] { try each(.failure(failure)); continue }
                try each(.success(Prediction(file: file, top: rows[row])))
                row += 1
            }
        }
    }

    /// The `k` most likely classes of each image of a batch [N, C, H, W].
    private func classify(_ images: Tensor, top k: Int) throws -> [[Prediction.Entry]] {
        let input = runner.memoryFormat == .channelsLast ? try images.contiguous(.channelsLast) : images
        let probabilities = try withNoGrad { try Functional.softmax(runner(input.to(runner.device)), dim: 1) }
        let (values, indices) = try probabilities.topk(k, dim: 1)
        let p = try values.floats(), idx = try indices.values(as: Int64.self)
        return (0..<(p.count / k)).map { row in
            (0..<k).map { j -> Prediction.Entry in
                let index = Int(idx[row * k + j])
                let name = index < classNames.count ? classNames[index] : String(index)
                return Prediction.Entry(class: name, index: index, probability: Double(p[row * k + j]))
            }
        }
    }

    /// One file as the model's normalized input, [C, H, W] in row-major order.
    func input(for file: String) throws -> [Float] {
        let (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
        var image = try ImageCodec.decode(file: file, channels: c)
        if image.width <= w, image.height <= h {
            image = Self.padded(image, width: w, height: h)
        } else if image.width != w || image.height != h {
            image = try ImageCodec.resizeAndCenterCrop(image, size: min(h, w), file: file)
            image = ImageCodec.centerCrop(image, width: w, height: h)
        }
        let planar = image.planar, plane = h * w
        var out = [Float](repeating: 0, count: c * plane)
        for channel in 0..<c {
            let mean = normalization.mean[channel], std = normalization.std[channel]
            for i in channel * plane..<(channel + 1) * plane { out[i] = (Float(planar[i]) / 255 - mean) / std }
        }
        return out
    }

    /// `image` centred on a zero canvas of `width` × `height`.
    static func padded(_ image: DecodedImage, width: Int, height: Int) -> DecodedImage {
        if image.width == width && image.height == height { return image }
        let c = image.channels, top = (height - image.height) / 2, left = (width - image.width) / 2
        var out = [UInt8](repeating: 0, count: width * height * c)
        for y in 0..<image.height {
            let from = y * image.width * c, to = ((y + top) * width + left) * c
            out.replaceSubrange(to..<(to + image.width * c), with: image.pixels[from..<(from + image.width * c)])
        }
        return DecodedImage(pixels: out, width: width, height: height, channels: c)
    }
}
