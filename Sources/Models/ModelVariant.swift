/// A model the command line names (`--model resnet18`): a kind of its family and how the
/// model flags make its architecture. Declared in its family's file, listed in the family's
/// ``ModelFamily/variants``.
public struct ModelVariant: Sendable {
    /// Which size flags a variant takes.
    public enum Sizing: Sendable {
        /// `--width` (a ResNet's base channels; MobileNetV2 takes `--width-multiplier` instead).
        case width
        /// `--width`, `--patch-size`, `--depth`, `--heads` and `--mlp-dim` (the small ViT).
        case transformer
        /// None: torchvision's fixed size (vit_b_16, swin_t).
        case fixed
    }

    /// What the user asked for (the model flags; nil when not given) and what the data gives.
    public struct Request: Sendable {
        public var classCount: Int
        public var inputChannels: Int
        /// The side of the input images (a ViT's position table follows it).
        public var imageSize: Int
        public var width: Int?
        public var widthMultiplier = 1.0
        public var imageNetStem = false
        public var patchSize: Int?
        public var depth: Int?
        public var heads: Int?
        public var mlpDim: Int?

        public init(classCount: Int, inputChannels: Int, imageSize: Int) {
            self.classCount = classCount
            self.inputChannels = inputChannels
            self.imageSize = imageSize
        }
    }

    /// How `lacoot demo` trains a variant (only the variants it offers have these).
    public struct DemoSettings: Sendable {
        /// Epochs and images of a demo run (nil: every image).
        public var epochs: Int
        public var trainLimit: Int?
        public var testLimit: Int?
        /// Images of a `--quick` run (one epoch).
        public var quickTrainLimit: Int
        public var quickTestLimit: Int
        let make: @Sendable (_ width: Int, _ classCount: Int, _ inputChannels: Int) -> ModelArchitecture

        /// - Parameter make: the architecture at the demo's `--width` (which a fixed-size
        ///   model ignores) for the data's classes and channels.
        public init(epochs: Int, trainLimit: Int?, testLimit: Int?, quickTrainLimit: Int, quickTestLimit: Int,
                    make: @escaping @Sendable (_ width: Int, _ classCount: Int, _ inputChannels: Int) -> ModelArchitecture) {
            self.epochs = epochs
            self.trainLimit = trainLimit
            self.testLimit = testLimit
            self.quickTrainLimit = quickTrainLimit
            self.quickTestLimit = quickTestLimit
            self.make = make
        }

        /// The transformers' budget (the Swin-T demo: 18 minutes here): 3 epochs on the first
        /// 6,000 training images (5,400 after the validation split), 1,000 test images; quick:
        /// 2,000 and 500.
        public static func transformerBudget(
            make: @escaping @Sendable (_ width: Int, _ classCount: Int, _ inputChannels: Int) -> ModelArchitecture
        ) -> DemoSettings {
            DemoSettings(epochs: 3, trainLimit: 6_000, testLimit: 1_000, quickTrainLimit: 2_000, quickTestLimit: 500, make: make)
        }

        /// The demo's architecture.
        public func architecture(width: Int, classCount: Int, inputChannels: Int) -> ModelArchitecture {
            make(width, classCount, inputChannels)
        }
    }

    /// The name on the command line, e.g. "resnet18".
    public let name: String
    public let kind: ModelArchitecture.Kind
    public let sizing: Sizing
    /// The input side the variant is made for when none is given (vit_b_16: 224); nil: 32,
    /// or 224 with the ImageNet stem.
    public let imageSize: Int?
    /// Set for the networks `lacoot demo` offers.
    public let demo: DemoSettings?
    let make: @Sendable (Request) -> ModelArchitecture

    /// - Parameter make: the architecture for a request.
    public init(name: String, kind: ModelArchitecture.Kind, sizing: Sizing, imageSize: Int? = nil,
                demo: DemoSettings? = nil, make: @escaping @Sendable (Request) -> ModelArchitecture) {
        self.name = name
        self.kind = kind
        self.sizing = sizing
        self.imageSize = imageSize
        self.demo = demo
        self.make = make
    }

    /// The architecture for `request`.
    public func architecture(_ request: Request) -> ModelArchitecture { make(request) }
}
