import Costs
import NN
import Torch

// MARK: - ResNet

/// ResNets with torchvision's parameter names: ResNet-18/34 (BasicBlock), ResNet-50
/// (Bottleneck) with a CIFAR stem (LaCoOT's reference, the default) or ImageNet's, and He et
/// al.'s CIFAR ResNet-20/32/44/56/110. Any input channels, classes and base width.
///
/// Collapsible blocks: every block of a stage but the first (`layer1.1`, …, `layer4.1` for
/// ResNet-18) — those keep their input shape. The first block of `layer1` also keeps its shape
/// when the stem width equals the stage width, but the reference never removes it, so it is
/// not listed.
///
/// Initialization is torchvision's, draw for draw: each convolution's and the classifier's
/// default init in construction order, then kaiming-normal (fan-out, ReLU) for every
/// convolution, BN weight 1 / bias 0. With `Generator(seed: s)` the weights equal those of
/// PyTorch after `torch.manual_seed(s)`.
public final class ResNet: Module, CollapsibleModel {
    public enum Depth: String, Codable, Sendable, CaseIterable {
        case resNet18, resNet34, resNet50, resNet20, resNet32, resNet44, resNet56, resNet110

        /// The kind of the same name ("resNet18").
        public var kind: ModelArchitecture.Kind { ModelArchitecture.Kind(rawValue: rawValue) }

        public init?(kind: ModelArchitecture.Kind) { self.init(rawValue: kind.rawValue) }

        /// Blocks per stage.
        public var layerBlockCounts: [Int] {
            switch self {
            case .resNet18: [2, 2, 2, 2]
            case .resNet34, .resNet50: [3, 4, 6, 3]
            case .resNet20: [3, 3, 3]
            case .resNet32: [5, 5, 5]
            case .resNet44: [7, 7, 7]
            case .resNet56: [9, 9, 9]
            case .resNet110: [18, 18, 18]
            }
        }

        public var usesBottleneck: Bool { self == .resNet50 }
        /// The 3-stage CIFAR family of He et al. 2016.
        public var isCIFARFamily: Bool { layerBlockCounts.count == 3 }
        public var defaultWidth: Int { isCIFARFamily ? 16 : 64 }
        public var defaultStem: ModelArchitecture.Stem { isCIFARFamily ? .cifarNoMaxPool : .cifar }
        public var defaultShortcut: ModelArchitecture.Shortcut { isCIFARFamily ? .zeroPad : .projection }
    }

    public let architecture: ModelArchitecture
    public let depth: Depth
    public let collapsibleBlockNames: [String]

    // Children, in torchvision's order.
    public let conv1: Child<Module>
    public let bn1: Child<Module>
    public let relu: Child<Module>
    /// Absent with the `cifarNoMaxPool` stem.
    public let maxpool: Child<Module>?
    /// `layer1` … `layer4` (three stages for the CIFAR family); blocks are keyed "0", "1", ….
    public let stages: [Child<Sequential>]
    public let avgpool: Child<Module>
    public let fc: Child<Module>

    /// Per stage, per block: the collapsible block's name and index (nil for a first block).
    private let stageBlocks: [[ObservedBlock?]]

    /// A ResNet with the given depth. Defaults: CIFAR stem with max-pool, base width 64 and
    /// projection shortcuts for ResNet-18/34/50; CIFAR stem without max-pool, width 16 and
    /// zero-padding shortcuts for ResNet-20…110. Weights come from `generator` (seed 0 if nil).
    public convenience init(_ depth: Depth, classCount: Int, inputChannels: Int = 3, width: Int? = nil,
                            stem: ModelArchitecture.Stem? = nil, shortcut: ModelArchitecture.Shortcut? = nil,
                            generator: Generator? = nil) throws {
        let arch = ModelArchitecture(kind: depth.kind, classCount: classCount, inputChannels: inputChannels,
                                     stem: stem ?? depth.defaultStem, width: width ?? depth.defaultWidth,
                                     shortcut: shortcut ?? depth.defaultShortcut)
        try self.init(architecture: arch, generator: generator)
    }

    public init(architecture: ModelArchitecture, generator: Generator? = nil) throws {
        let (depth, arch) = try Self.validated(architecture)
        let width = arch.width ?? depth.defaultWidth
        self.architecture = arch
        self.depth = depth
        let g = try generator ?? Generator(seed: 0)

        // Construction order is torchvision's (it fixes the random draws): stem conv, each
        // stage's shortcuts and blocks, classifier.
        conv1 = Child("conv1", arch.stem == .imageNet
            ? try Conv2d(arch.inputChannels, width, kernelSize: 7, stride: 2, padding: 3, bias: false, generator: g)
            : try Conv2d(arch.inputChannels, width, kernelSize: 3, stride: 1, padding: 1, bias: false, generator: g))
        bn1 = Child("bn1", try BatchNorm2d(width))
        relu = Child("relu", ReLU(inplace: true))
        maxpool = arch.stem == .cifarNoMaxPool ? nil : Child("maxpool", MaxPool2d(kernelSize: 3, stride: 2, padding: 1))
        let built = try Self.makeStages(depth: depth, width: width, shortcut: arch.shortcut ?? depth.defaultShortcut,
                                        generator: g)
        stages = built.stages.enumerated().map { s, stage in Child("layer\(s + 1)", stage) }
        stageBlocks = built.blocks
        collapsibleBlockNames = built.blocks.flatMap { $0.compactMap { $0?.name } }
        avgpool = Child("avgpool", AdaptiveAvgPool2d(outputSize: (1, 1)))
        fc = Child("fc", try Linear(built.outChannels, arch.classCount, generator: g))
        super.init()
        try register(conv1, bn1, relu, maxpool)
        try register(contentsOf: stages)
        try register(avgpool, fc)

        // torchvision's re-initialization, in module order.
        for (_, m) in namedModules() {
            if let conv = m as? Conv2d {
                try Init.kaimingNormal(conv.weight, mode: .fanOut, nonlinearity: .relu, generator: g)
            }
        }
    }

    /// The depth of a ResNet architecture and the architecture with its defaults filled in.
    private static func validated(_ architecture: ModelArchitecture) throws -> (Depth, ModelArchitecture) {
        guard let depth = Depth(kind: architecture.kind) else {
            throw ModelError.invalidArchitecture("\(architecture.kind.rawValue) is not a ResNet")
        }
        var arch = architecture
        arch.width = architecture.width ?? depth.defaultWidth
        arch.shortcut = architecture.shortcut ?? depth.defaultShortcut
        guard arch.classCount > 0, arch.inputChannels > 0, arch.width! > 0 else {
            throw ModelError.invalidArchitecture("ResNet needs positive classes, input channels and width; got \(architecture)")
        }
        guard arch.widthMultiplier == nil, arch.dropout == nil else {
            throw ModelError.invalidArchitecture("ResNet takes no width multiplier or dropout (those are MobileNetV2's)")
        }
        return (depth, arch)
    }

    /// The stages (shortcut first, then the block: torchvision's order of construction), the
    /// collapsible blocks of each stage (every block but the first) and the output channels.
    private static func makeStages(depth: Depth, width: Int, shortcut: ModelArchitecture.Shortcut,
                                   generator g: Generator) throws
        -> (stages: [Sequential], blocks: [[ObservedBlock?]], outChannels: Int) {
        let expansion = depth.usesBottleneck ? Bottleneck.expansion : BasicBlock.expansion
        var stages: [Sequential] = []
        var tags: [[ObservedBlock?]] = []
        var collapsibleCount = 0
        var inPlanes = width
        for (s, count) in depth.layerBlockCounts.enumerated() {
            let planes = width << s
            let stage = Sequential()
            var stageTags: [ObservedBlock?] = []
            for b in 0..<count {
                let stride = b == 0 ? (s == 0 ? 1 : 2) : 1
                let sc = stride != 1 || inPlanes != planes * expansion
                    ? try makeShortcut(shortcut, inPlanes, planes * expansion, stride: stride, generator: g) : nil
                stage.append(depth.usesBottleneck
                    ? try Bottleneck(inPlanes: inPlanes, planes: planes, stride: stride, shortcut: sc, generator: g)
                    : try BasicBlock(inPlanes: inPlanes, planes: planes, stride: stride, shortcut: sc, generator: g))
                if b > 0 {
                    stageTags.append(ObservedBlock(name: "layer\(s + 1).\(b)", index: collapsibleCount))
                    collapsibleCount += 1
                } else {
                    stageTags.append(nil)
                }
                inPlanes = planes * expansion
            }
            stages.append(stage)
            tags.append(stageTags)
        }
        return (stages, tags, inPlanes)
    }

    private static func makeShortcut(_ kind: ModelArchitecture.Shortcut, _ inChannels: Int, _ outChannels: Int,
                                     stride: Int, generator: Generator) throws -> Module {
        switch kind {
        case .projection:
            Sequential(try Conv2d(inChannels, outChannels, kernelSize: 1, stride: stride, bias: false, generator: generator),
                       try BatchNorm2d(outChannels))
        case .zeroPad:
            try ZeroPadShortcut(inChannels: inChannels, outChannels: outChannels, stride: stride)
        }
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try run(x, observe: nil) }

    public func forward(_ x: Tensor, observe: (BlockEvent) throws -> Void) throws -> Tensor {
        try withoutActuallyEscaping(observe) { try run(x, observe: $0) }
    }

    private func run(_ input: Tensor, observe: ((BlockEvent) throws -> Void)?) throws -> Tensor {
        var h = memoryFormat == .channelsLast && input.rank == 4 ? try input.contiguous(.channelsLast) : input
        h = try relu(bn1(conv1(h)))
        if let maxpool { h = try maxpool(h) }
        for (stage, blocks) in zip(stages, stageBlocks) {
            h = try runStage(stage.module, h, blocks: blocks, observe: observe)
        }
        return try fc(avgpool(h).flatten(from: 1))
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        let stem: [AnyChild] = [conv1, bn1, relu] + (maxpool.map { [$0] } ?? [])
        var h = try analyze(stem + stages + [avgpool], input, path: path, context: &context)
        h = [h[0], h.dropFirst().reduce(1, *)]
        return try analyze(fc, h, path: path, context: &context)
    }
}
