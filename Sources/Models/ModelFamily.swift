import NN
import Torch

/// One model family (ResNet, MobileNetV2, …): what the toolkit knows about it, in one value
/// declared in the family's own file and listed once in ``ModelRegistry``, as torchvision's
/// builders are. The kinds it builds (the names written in config.json and manifests), how
/// it builds and labels them and fills in their defaults, the names the command line offers
/// (``ModelVariant``), the keys of its weights, and how it trains.
public struct ModelFamily: Sendable {
    /// How a family's networks train and run, for what depends on that outside the model.
    public enum Style: String, Sendable {
        /// BatchNorm'd convolutions: the CNN recipe, residual branches that start at zero,
        /// channels-last inference.
        case convolutional
        /// Transformer blocks with an MLP branch (``FeatureTap/mlpBranch``): the transformer
        /// recipe, blocks that do not start as identities, the layout they were built with.
        case transformer
    }

    /// Where the family's weights keep what `lacoot import` reads (torchvision's keys).
    public struct ImportRules: Sendable {
        /// The key prefix of the classifier, e.g. "fc." (re-initialized for another class count).
        public var classifierPrefix: String
        /// The key of the first convolution, [out, in channels, kh, kw] (the input channels).
        public var stemKey: String
        /// Whether the architecture takes one input size only (a ViT: its position table).
        public var inputSizeIsFixed = false
        /// Whether weights are taken as the ImageNet stem's unless told otherwise (MobileNetV2:
        /// its stems differ only in stride, which the weights do not show).
        public var stemIsImageNetUnlessTold = false

        public init(classifierPrefix: String, stemKey: String, inputSizeIsFixed: Bool = false,
                    stemIsImageNetUnlessTold: Bool = false) {
            self.classifierPrefix = classifierPrefix
            self.stemKey = stemKey
            self.inputSizeIsFixed = inputSizeIsFixed
            self.stemIsImageNetUnlessTold = stemIsImageNetUnlessTold
        }
    }

    /// The family's name in messages, e.g. "ResNet".
    public let name: String
    /// The kinds it builds.
    public let kinds: [ModelArchitecture.Kind]
    /// The models the command line offers by name, in its `--help` order.
    public let variants: [ModelVariant]
    public let style: Style
    public let importRules: ImportRules
    let build: @Sendable (ModelArchitecture, Generator?) throws -> any CollapsibleModel
    let normalize: @Sendable (ModelArchitecture) -> ModelArchitecture
    let label: @Sendable (ModelArchitecture) -> String
    let nominalInputSize: @Sendable (ModelArchitecture) -> Int

    /// - Parameters:
    ///   - build: a freshly initialized model (the family's `init(architecture:generator:)`).
    ///   - normalize: the architecture with the defaults the model fills in made explicit.
    ///   - label: a short human label, e.g. "ResNet-18 (cifar stem, width 64, 10 classes)".
    ///   - nominalInputSize: the size block shapes are reported at by default (32 for the
    ///     CIFAR stems, 224 for ImageNet's unless given).
    public init(name: String, kinds: [ModelArchitecture.Kind], variants: [ModelVariant], style: Style,
                importRules: ImportRules,
                build: @escaping @Sendable (ModelArchitecture, Generator?) throws -> any CollapsibleModel,
                normalize: @escaping @Sendable (ModelArchitecture) -> ModelArchitecture,
                label: @escaping @Sendable (ModelArchitecture) -> String,
                nominalInputSize: @escaping @Sendable (ModelArchitecture) -> Int = { $0.stem == .imageNet ? 224 : 32 }) {
        self.name = name
        self.kinds = kinds
        self.variants = variants
        self.style = style
        self.importRules = importRules
        self.build = build
        self.normalize = normalize
        self.label = label
        self.nominalInputSize = nominalInputSize
    }

    /// Whether the collapsible blocks have an MLP branch (``FeatureTap/mlpBranch``).
    public var hasMLPBranches: Bool { style == .transformer }

    /// Whether inference runs in the channels-last layout by default (oneDNN's convolutions).
    public var prefersChannelsLast: Bool { style == .convolutional }
}
