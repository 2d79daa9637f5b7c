import Foundation
import NN
import Torch

/// A model's configuration: enough to rebuild the same network (save it in manifests).
///
/// ```json
/// {"kind":"resNet18","classCount":10,"inputChannels":1,"stem":"cifar","width":64}
/// ```
public struct ModelArchitecture: Codable, Hashable, Sendable {
    /// Which network: the name written in config.json and manifests ("resNet18"). Each family
    /// declares its kinds in its own file (`static let resNet18 = Kind(rawValue: "resNet18")`);
    /// a file naming a kind no registered family builds does not decode (the error names it).
    public struct Kind: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible {
        public let rawValue: String

        public init(rawValue: String) { self.rawValue = rawValue }

        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            self.init(rawValue: try container.decode(String.self))
            guard ModelRegistry.family(of: self) != nil else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: ModelError.unknownKind(rawValue).description)
            }
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }

        public var description: String { rawValue }

        /// Every registered kind, family by family.
        public static var allCases: [Kind] { ModelRegistry.kinds }
    }

    /// The size of a Swin Transformer (torchvision's `SwinTransformer` arguments).
    public struct Swin: Codable, Hashable, Sendable {
        public var patchSize: Int
        public var embedDim: Int
        /// Blocks per stage; every block is collapsible.
        public var depths: [Int]
        /// Attention heads per stage.
        public var heads: [Int]
        public var windowSize: Int
        public var mlpRatio: Double
        /// Stochastic depth of the last block (growing linearly from 0 at the first).
        public var stochasticDepth: Double

        public init(patchSize: Int, embedDim: Int, depths: [Int], heads: [Int], windowSize: Int, mlpRatio: Double = 4,
                    stochasticDepth: Double) {
            self.patchSize = patchSize
            self.embedDim = embedDim
            self.depths = depths
            self.heads = heads
            self.windowSize = windowSize
            self.mlpRatio = mlpRatio
            self.stochasticDepth = stochasticDepth
        }

        /// torchvision's `swin_t`: patch 4, embed 96, depths 2-2-6-2, heads 3-6-12-24, window 7,
        /// MLP ratio 4, stochastic depth 0.2 (28.3 M parameters with 1000 classes).
        public static let swinT = Swin(patchSize: 4, embedDim: 96, depths: [2, 2, 6, 2], heads: [3, 6, 12, 24], windowSize: 7,
                                       stochasticDepth: 0.2)
    }

    /// The size of a Vision Transformer (torchvision's `VisionTransformer` arguments).
    public struct Transformer: Codable, Hashable, Sendable {
        /// Side of the square input images; a multiple of `patchSize`.
        public var imageSize: Int
        public var patchSize: Int
        /// Encoder layers (`num_layers`), each a collapsible block.
        public var layers: Int
        /// Attention heads; they divide `hiddenDim`.
        public var heads: Int
        /// Token width (`hidden_dim`).
        public var hiddenDim: Int
        /// Hidden size of each layer's MLP (`mlp_dim`).
        public var mlpDim: Int

        public init(imageSize: Int, patchSize: Int, layers: Int, heads: Int, hiddenDim: Int, mlpDim: Int) {
            self.imageSize = imageSize
            self.patchSize = patchSize
            self.layers = layers
            self.heads = heads
            self.hiddenDim = hiddenDim
            self.mlpDim = mlpDim
        }

        /// torchvision's `vit_b_16`: 224×224 images in 16×16 patches, 12 layers of width 768
        /// with 12 heads and an MLP of 3072 (86.6 M parameters with 1000 classes).
        public static let vitB16 = Transformer(imageSize: 224, patchSize: 16, layers: 12, heads: 12, hiddenDim: 768,
                                               mlpDim: 3072)

        /// The small ViT that trains on 32×32 images here (the CLI's `vit`): 4×4 patches (64
        /// tokens + the class token), 8 layers of width 192 with 3 heads of 64 and an MLP of 768
        /// (DeiT-Tiny's width and heads at 8 instead of 12 layers).
        public static let small = Transformer(imageSize: 32, patchSize: 4, layers: 8, heads: 3, hiddenDim: 192,
                                              mlpDim: 768)

        /// The same network size for another image size (the position table follows it).
        public func withImageSize(_ size: Int) -> Transformer {
            var t = self
            t.imageSize = size
            return t
        }

        /// Patch tokens per image (without the class token).
        public var patchCount: Int { (imageSize / patchSize) * (imageSize / patchSize) }
    }

    /// The first layers.
    public enum Stem: String, Codable, Sendable, CaseIterable {
        /// ResNet: 3×3 stride-1 conv, BN, ReLU, 3×3 stride-2 max-pool (LaCoOT's reference).
        /// MobileNetV2: first conv and the 24-channel stage at stride 1 (32×32 inputs end at 4×4).
        case cifar
        /// ResNet: 3×3 stride-1 conv, BN, ReLU, no pooling (He et al.'s CIFAR ResNets).
        case cifarNoMaxPool
        /// ResNet: 7×7 stride-2 conv, BN, ReLU, 3×3 stride-2 max-pool; MobileNetV2: torchvision's.
        case imageNet
    }

    /// How a ResNet block that changes shape builds its shortcut.
    public enum Shortcut: String, Codable, Sendable {
        /// 1×1 convolution + BN ("downsample", torchvision; option B).
        case projection
        /// Parameter-free: subsample and pad channels with zeros (He et al.'s option A).
        case zeroPad
    }

    public var kind: Kind
    public var classCount: Int
    public var inputChannels: Int
    public var stem: Stem
    /// ResNet base channels (64 for ResNet-18/34/50, 16 for the CIFAR ResNets); nil for MobileNetV2.
    public var width: Int?
    /// MobileNetV2 width multiplier; nil for ResNets.
    public var widthMultiplier: Double?
    /// MobileNetV2 classifier dropout; the Vision Transformer's dropout (torchvision's
    /// `dropout`: after the position embedding, the attention and in the MLPs); nil for ResNets.
    public var dropout: Double?
    /// ResNet shortcut of shape-changing blocks; nil for the other models.
    public var shortcut: Shortcut?
    /// The Vision Transformer's size; nil for the other models. (A ViT has no stem choice: its
    /// patch embedding is its stem, and `stem` only records `.imageNet` for 224×224 inputs and
    /// `.cifar` for small ones.)
    public var transformer: Transformer?
    /// The Swin Transformer's size; nil for the other models.
    public var swin: Swin?

    public init(kind: Kind, classCount: Int, inputChannels: Int = 3, stem: Stem, width: Int? = nil,
                widthMultiplier: Double? = nil, dropout: Double? = nil, shortcut: Shortcut? = nil,
                transformer: Transformer? = nil, swin: Swin? = nil) {
        self.kind = kind
        self.classCount = classCount
        self.inputChannels = inputChannels
        self.stem = stem
        self.width = width
        self.widthMultiplier = widthMultiplier
        self.dropout = dropout
        self.shortcut = shortcut
        self.transformer = transformer
        self.swin = swin
    }

    /// 32 for the CIFAR stems, 224 for ImageNet's, a ViT's image size: the size block shapes
    /// are reported at by default.
    public var nominalInputSize: Int {
        ModelRegistry.family(of: kind)?.nominalInputSize(self) ?? (stem == .imageNet ? 224 : 32)
    }

    /// Builds a freshly initialized model (weights from `generator`, seed 0 when nil); a kind no
    /// registered family builds is an error naming it.
    public func build(generator: Generator? = nil) throws -> any CollapsibleModel {
        try kind.family.build(self, generator)
    }

    /// Short human label, e.g. "ResNet-18 (cifar stem, width 64, 10 classes)".
    public var label: String {
        ModelRegistry.family(of: kind)?.label(self) ?? "\(kind.rawValue) (not a registered model, \(classCount) classes)"
    }

    /// The architecture with the defaults its family fills in made explicit (a ResNet's width
    /// and shortcut, MobileNetV2's width multiplier and dropout, a ViT's or Swin's size), so
    /// that an architecture as written (a run's config.json) compares equal to the one the
    /// built model reports (a saved manifest). Unchanged for a kind no family builds.
    public var normalized: ModelArchitecture { ModelRegistry.family(of: kind)?.normalize(self) ?? self }

    /// The fields in which this architecture differs from `other` once both are normalized,
    /// each as "field: this vs other" (empty when they build the same network).
    public func differences(from other: ModelArchitecture) -> [String] {
        let a = normalized, b = other.normalized
        func text<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "none" }
        var out: [String] = []
        func compare<T: Equatable>(_ field: String, _ x: T?, _ y: T?) {
            if x != y { out.append("\(field): \(text(x)) vs \(text(y))") }
        }
        compare("kind", a.kind.rawValue, b.kind.rawValue)
        compare("classes", a.classCount, b.classCount)
        compare("input channels", a.inputChannels, b.inputChannels)
        compare("stem", a.stem.rawValue, b.stem.rawValue)
        compare("width", a.width, b.width)
        compare("width multiplier", a.widthMultiplier, b.widthMultiplier)
        compare("dropout", a.dropout, b.dropout)
        compare("shortcut", a.shortcut?.rawValue, b.shortcut?.rawValue)
        compare("transformer", a.transformer, b.transformer)
        compare("swin", a.swin, b.swin)
        return out
    }
}
