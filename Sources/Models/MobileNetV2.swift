import Costs
import NN
import Torch

/// torchvision's `_make_divisible`: rounds to the nearest multiple of `divisor`, never more
/// than 10 % below `value`.
func makeDivisible(_ value: Double, _ divisor: Int = 8) -> Int {
    var v = max(divisor, Int(value + Double(divisor) / 2) / divisor * divisor)
    if Double(v) < 0.9 * value { v += divisor }
    return v
}

/// Conv–BN–ReLU6 as torchvision's `Conv2dNormActivation` (children "0", "1", "2").
func convBNReLU6(_ input: Int, _ output: Int, kernel: Int, stride: Int, groups: Int = 1,
                 generator: Generator) throws -> Sequential {
    Sequential(try Conv2d(input, output, kernelSize: kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups,
                          bias: false, generator: generator),
               try BatchNorm2d(output), ReLU6(inplace: true))
}

/// MobileNetV2's inverted residual: [1×1 expand–BN–ReLU6], 3×3 depthwise–BN–ReLU6,
/// 1×1 project–BN, all in the child `conv`; plus the input when stride is 1 and the channels
/// are unchanged.
public final class InvertedResidual: Module, ResidualScaled {
    public let inChannels: Int
    public let outChannels: Int
    public let stride: Int
    public let expandRatio: Int
    /// Whether the block adds its input (and so keeps its shape).
    public let usesResidual: Bool
    /// The block's layers (torchvision's key "conv").
    public let conv: Child<Module>
    public var residualScale = 1.0

    init(_ inChannels: Int, _ outChannels: Int, stride: Int, expandRatio: Int, generator: Generator) throws {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.stride = stride
        self.expandRatio = expandRatio
        self.usesResidual = stride == 1 && inChannels == outChannels
        let hidden = inChannels * expandRatio
        var layers: [Module] = []
        if expandRatio != 1 { layers.append(try convBNReLU6(inChannels, hidden, kernel: 1, stride: 1, generator: generator)) }
        layers.append(try convBNReLU6(hidden, hidden, kernel: 3, stride: stride, groups: hidden, generator: generator))
        layers.append(try Conv2d(hidden, outChannels, kernelSize: 1, bias: false, generator: generator))
        layers.append(try BatchNorm2d(outChannels))
        conv = Child("conv", Sequential(layers))
        super.init()
        try register(conv)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let out = try conv(x)
        return usesResidual ? try x + out.scaled(by: residualScale) : out
    }
}

/// MobileNetV2 with torchvision's layout and parameter names (`features.N…`, `classifier.1`):
/// the ImageNet layout, or the CIFAR variant (first conv and the 24-channel stage at stride 1,
/// so a 32×32 input ends at 4×4), any input channels, classes and width multiplier.
///
/// Collapsible blocks: the whole inverted-residual blocks that have a skip connection (stride
/// 1, same channels): features.3, 5, 6, 8, 9, 10, 12, 13, 15, 16. Removing such a block leaves
/// exactly its skip path, so the network stays well-formed. (LaCoOT's reference instead
/// regularizes and removes only the 3×3 depthwise conv–BN–ReLU6 inside every stride-1 block,
/// including the two without a skip connection; removing the whole block removes more MACs
/// per step and needs no BN of the expansion to match the projection.)
///
/// Initialization is torchvision's, draw for draw: default init of each convolution and the
/// classifier in construction order, then kaiming-normal (fan-out) for convolutions, BN
/// 1 / 0, classifier N(0, 0.01) with zero bias. The classifier's Dropout gets its own
/// generator seeded from the construction generator's state (drawing nothing from it).
public final class MobileNetV2: Module, CollapsibleModel {
    public enum Layout: String, Codable, Sendable { case imageNet, cifar }

    /// (expansion t, channels c, repeats n, stride s) of torchvision's MobileNetV2.
    static let settings: [(t: Int, c: Int, n: Int, s: Int)] = [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    public let architecture: ModelArchitecture
    public let collapsibleBlockNames: [String]
    /// The stem, the inverted-residual blocks and the last 1×1 conv, keyed "0", "1", ….
    public let features: Child<Sequential>
    /// Dropout ("0") and the linear layer ("1").
    public let classifier: Child<Sequential>
    /// Per entry of `features`: the collapsible block's name and index (nil for the others).
    private let featureBlocks: [ObservedBlock?]

    public convenience init(classCount: Int, inputChannels: Int = 3, widthMultiplier: Double = 1.0,
                            stem: ModelArchitecture.Stem = .imageNet, dropout: Double = 0.2,
                            generator: Generator? = nil) throws {
        let arch = ModelArchitecture(kind: .mobileNetV2, classCount: classCount, inputChannels: inputChannels,
                                     stem: stem, widthMultiplier: widthMultiplier, dropout: dropout)
        try self.init(architecture: arch, generator: generator)
    }

    public init(architecture: ModelArchitecture, generator: Generator? = nil) throws {
        let arch = try Self.validated(architecture)
        self.architecture = arch
        let g = try generator ?? Generator(seed: 0)
        let built = try Self.makeFeatures(arch, generator: g)
        let linear = try Linear(built.outChannels, arch.classCount, generator: g)
        // torchvision's re-initialization, in module order, before the classifier's Dropout
        // generator is seeded from the construction generator's state.
        for (_, m) in built.features.namedModules() {
            if let conv = m as? Conv2d {
                try Init.kaimingNormal(conv.weight, mode: .fanOut, generator: g)
                if let b = conv.bias { try b.zero_() }
            }
        }
        try Init.normal(linear.weight, mean: 0, std: 0.01, generator: g)
        if let b = linear.bias { try b.zero_() }
        let dropoutGenerator = try Generator(seed: derivedSeed(from: g, salt: 0x4d4e_5632))
        features = Child("features", built.features)
        classifier = Child("classifier", Sequential(try Dropout(p: arch.dropout ?? 0.2, generator: dropoutGenerator), linear))
        featureBlocks = built.blocks
        collapsibleBlockNames = built.blocks.compactMap { $0?.name }
        super.init()
        try register(features, classifier)
    }

    /// The architecture with its defaults filled in, or an error naming what is wrong.
    private static func validated(_ architecture: ModelArchitecture) throws -> ModelArchitecture {
        guard architecture.kind == .mobileNetV2 else {
            throw ModelError.invalidArchitecture("\(architecture.kind.rawValue) is not MobileNetV2")
        }
        guard architecture.stem != .cifarNoMaxPool else {
            throw ModelError.invalidArchitecture(
                "MobileNetV2 takes the imageNet or cifar layout, not \(architecture.stem.rawValue)")
        }
        var arch = architecture
        arch.widthMultiplier = architecture.widthMultiplier ?? 1.0
        arch.dropout = architecture.dropout ?? 0.2
        guard arch.classCount > 0, arch.inputChannels > 0, arch.widthMultiplier! > 0, arch.widthMultiplier!.isFinite,
              (0...1).contains(arch.dropout!), arch.width == nil, arch.shortcut == nil else {
            throw ModelError.invalidArchitecture("invalid MobileNetV2 configuration \(architecture)")
        }
        return arch
    }

    /// `features` (torchvision's construction order) with the collapsible entries tagged, and
    /// its output channels.
    private static func makeFeatures(_ arch: ModelArchitecture, generator g: Generator) throws
        -> (features: Sequential, blocks: [ObservedBlock?], outChannels: Int) {
        let multiplier = arch.widthMultiplier ?? 1.0
        let cifar = arch.stem == .cifar
        var input = makeDivisible(32 * multiplier)
        let last = makeDivisible(1280 * max(1.0, multiplier))
        let features = Sequential(try convBNReLU6(arch.inputChannels, input, kernel: 3, stride: cifar ? 1 : 2, generator: g))
        var blocks: [ObservedBlock?] = [nil]
        var collapsibleCount = 0
        for (stage, setting) in settings.enumerated() {
            let output = makeDivisible(Double(setting.c) * multiplier)
            for i in 0..<setting.n {
                let stride = i == 0 ? (cifar && stage == 1 ? 1 : setting.s) : 1
                let block = try InvertedResidual(input, output, stride: stride, expandRatio: setting.t, generator: g)
                if block.usesResidual {
                    blocks.append(ObservedBlock(name: "features.\(features.count)", index: collapsibleCount))
                    collapsibleCount += 1
                } else {
                    blocks.append(nil)
                }
                features.append(block)
                input = output
            }
        }
        features.append(try convBNReLU6(input, last, kernel: 1, stride: 1, generator: g))
        blocks.append(nil)
        return (features, blocks, last)
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try run(x, observe: nil) }

    public func forward(_ x: Tensor, observe: (BlockEvent) throws -> Void) throws -> Tensor {
        try withoutActuallyEscaping(observe) { try run(x, observe: $0) }
    }

    private func run(_ input: Tensor, observe: ((BlockEvent) throws -> Void)?) throws -> Tensor {
        let x = memoryFormat == .channelsLast && input.rank == 4 ? try input.contiguous(.channelsLast) : input
        var h = try runStage(features.module, x, blocks: featureBlocks, observe: observe)
        h = try Functional.adaptiveAvgPool2d(h, outputSize: (1, 1)).flatten(from: 1)
        return try classifier(h)
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        var h = try analyze(features, input, path: path, context: &context)
        let pooled = [h[0], h[1], 1, 1]
        if context.convention == .ptflopsModules {
            context.record(path: path.isEmpty ? "avgpool" : path + ".avgpool", kind: "adaptive_avg_pool2d",
                           input: h, output: pooled, parameters: 0, macs: h.reduce(1, *))
        }
        h = [h[0], h[1]]
        return try analyze(classifier, h, path: path, context: &context)
    }
}

// MARK: - Family descriptor

extension ModelArchitecture.Kind {
    public static let mobileNetV2 = Self(rawValue: "mobileNetV2")
}

extension ModelFamily {
    /// torchvision's MobileNetV2 and its CIFAR layout (``MobileNetV2``).
    public static let mobileNetV2 = ModelFamily(
        name: "MobileNetV2", kinds: [.mobileNetV2], variants: [.mobilenetv2], style: .convolutional,
        importRules: ImportRules(classifierPrefix: "classifier.1.", stemKey: "features.0.0.weight", stemIsImageNetUnlessTold: true),
        build: { try MobileNetV2(architecture: $0, generator: $1) },
        normalize: { architecture in
            var arch = architecture
            arch.widthMultiplier = arch.widthMultiplier ?? 1.0   // MobileNetV2.validated
            arch.dropout = arch.dropout ?? 0.2
            return arch
        },
        label: { a in "MobileNetV2 (\(a.stem.rawValue), ×\(a.widthMultiplier ?? 1), \(a.classCount) classes)" })
}

extension ModelVariant {
    /// The CIFAR layout (or `--imagenet-stem`) at `--width-multiplier`, dropout 0.2.
    public static let mobilenetv2 = ModelVariant(name: "mobilenetv2", kind: .mobileNetV2, sizing: .width) { r in
        ModelArchitecture(kind: .mobileNetV2, classCount: r.classCount, inputChannels: r.inputChannels,
                          stem: r.imageNetStem ? .imageNet : .cifar, widthMultiplier: r.widthMultiplier, dropout: 0.2)
    }
}
