import Datasets
import Foundation
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

    public init(model: any CollapsibleModel, classNames: [String], normalization: Normalization, inputShape: [Int]) {
        self.model = model
        self.classNames = classNames
        self.normalization = normalization
        self.inputShape = inputShape
    }

    /// The `top` most likely classes of each file, in the files' order.
    public func predict(files: [String], top: Int = 5, batchSize: Int = 64) throws -> [Prediction] {
        let k = min(max(top, 1), model.architecture.classCount)
        model.eval()
        var predictions: [Prediction] = []
        for start in stride(from: 0, to: files.count, by: batchSize) {
            let batch = Array(files[start..<min(files.count, start + batchSize)])
            let images = try Tensor.stack(batch.map(input(for:)))
            let probabilities = try withNoGrad { try Functional.softmax(model(images), dim: 1) }
            let (values, indices) = try probabilities.topk(k, dim: 1)
            let p = try values.floats(), idx = try indices.values(as: Int64.self)
            for (row, file) in batch.enumerated() {
                let entries = (0..<k).map { j -> Prediction.Entry in
                    let index = Int(idx[row * k + j])
                    let name = index < classNames.count ? classNames[index] : String(index)
                    return Prediction.Entry(class: name, index: index, probability: Double(p[row * k + j]))
                }
                predictions.append(Prediction(file: file, top: entries))
            }
        }
        return predictions
    }

    /// One file as the model's normalized input [C, H, W].
    func input(for file: String) throws -> Tensor {
        let (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
        var image = try ImageCodec.decode(file: file, channels: c)
        if image.width <= w, image.height <= h {
            image = Self.padded(image, width: w, height: h)
        } else if image.width != w || image.height != h {
            image = try ImageCodec.resizeAndCenterCrop(image, size: min(h, w), file: file)
            image = ImageCodec.centerCrop(image, width: w, height: h)
        }
        let pixels = try Tensor(image.planar.map { Float($0) / 255 }, shape: [c, h, w])
        let mean = try Tensor(normalization.mean, shape: [c, 1, 1]), std = try Tensor(normalization.std, shape: [c, 1, 1])
        return try (pixels - mean) / std
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
