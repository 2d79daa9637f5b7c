import NN
import Torch

// MARK: - blocks

/// torchvision's BasicBlock: conv3×3–BN–ReLU–conv3×3–BN, plus the identity or a shortcut, then
/// ReLU. Children: conv1, bn1, relu, conv2, bn2[, downsample].
public final class BasicBlock: Module {
    public static let expansion = 1
    public let inPlanes: Int
    public let planes: Int
    public let stride: Int
    let hasShortcut: Bool

    /// `shortcut` is built by the caller before the block (torchvision's order of random draws).
    init(inPlanes: Int, planes: Int, stride: Int, shortcut: Module?, generator: Generator) throws {
        self.inPlanes = inPlanes
        self.planes = planes
        self.stride = stride
        self.hasShortcut = shortcut != nil
        super.init()
        try registerModule("conv1", Conv2d(inPlanes, planes, kernelSize: 3, stride: stride, padding: 1, bias: false,
                                           generator: generator))
        try registerModule("bn1", BatchNorm2d(planes))
        try registerModule("relu", ReLU())
        try registerModule("conv2", Conv2d(planes, planes, kernelSize: 3, stride: 1, padding: 1, bias: false,
                                           generator: generator))
        try registerModule("bn2", BatchNorm2d(planes))
        if let shortcut { try registerModule("downsample", shortcut) }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let c = children
        var out = try c[1].forward(c[0].forward(x))
        out = try c[2].forward(out)
        out = try c[4].forward(c[3].forward(out))
        let identity = hasShortcut ? try c[5].forward(x) : x
        return try c[2].forward(out + identity)
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        var h = input
        for i in 0..<5 { h = try analyzeChild(i, h, path: path, context: &context) }
        let identity = hasShortcut ? try analyzeChild(5, input, path: path, context: &context) : input
        guard identity == h else {
            throw NNError("BasicBlock at \"\(path)\": residual shape \(identity) differs from \(h)")
        }
        return try analyzeChild(2, h, path: path, context: &context)
    }
}

/// torchvision's Bottleneck (ResNet v1.5, stride on the 3×3): conv1×1–BN–ReLU–conv3×3–BN–ReLU–
/// conv1×1–BN, plus the identity or a shortcut, then ReLU. Children: conv1, bn1, conv2, bn2,
/// conv3, bn3, relu[, downsample].
public final class Bottleneck: Module {
    public static let expansion = 4
    public let inPlanes: Int
    public let planes: Int
    public let stride: Int
    let hasShortcut: Bool

    init(inPlanes: Int, planes: Int, stride: Int, shortcut: Module?, generator: Generator) throws {
        self.inPlanes = inPlanes
        self.planes = planes
        self.stride = stride
        self.hasShortcut = shortcut != nil
        super.init()
        let width = planes
        try registerModule("conv1", Conv2d(inPlanes, width, kernelSize: 1, bias: false, generator: generator))
        try registerModule("bn1", BatchNorm2d(width))
        try registerModule("conv2", Conv2d(width, width, kernelSize: 3, stride: stride, padding: 1, bias: false,
                                           generator: generator))
        try registerModule("bn2", BatchNorm2d(width))
        try registerModule("conv3", Conv2d(width, planes * Self.expansion, kernelSize: 1, bias: false,
                                           generator: generator))
        try registerModule("bn3", BatchNorm2d(planes * Self.expansion))
        try registerModule("relu", ReLU())
        if let shortcut { try registerModule("downsample", shortcut) }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let c = children
        var out = try c[6].forward(c[1].forward(c[0].forward(x)))
        out = try c[6].forward(c[3].forward(c[2].forward(out)))
        out = try c[5].forward(c[4].forward(out))
        let identity = hasShortcut ? try c[7].forward(x) : x
        return try c[6].forward(out + identity)
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        var h = try analyzeChild(0, input, path: path, context: &context)
        h = try analyzeChild(1, h, path: path, context: &context)
        h = try analyzeChild(6, h, path: path, context: &context)
        h = try analyzeChild(2, h, path: path, context: &context)
        h = try analyzeChild(3, h, path: path, context: &context)
        h = try analyzeChild(6, h, path: path, context: &context)
        h = try analyzeChild(4, h, path: path, context: &context)
        h = try analyzeChild(5, h, path: path, context: &context)
        let identity = hasShortcut ? try analyzeChild(7, input, path: path, context: &context) : input
        guard identity == h else {
            throw NNError("Bottleneck at \"\(path)\": residual shape \(identity) differs from \(h)")
        }
        return try analyzeChild(6, h, path: path, context: &context)
    }
}

/// He et al.'s option-A shortcut: keeps every `stride`-th pixel and pads the channels with
/// zeros on both sides (no parameters).
public final class ZeroPadShortcut: Module {
    public let inChannels: Int
    public let outChannels: Int
    public let stride: Int

    public init(inChannels: Int, outChannels: Int, stride: Int) throws {
        guard outChannels >= inChannels, stride >= 1 else {
            throw NNError("ZeroPadShortcut: cannot go from \(inChannels) to \(outChannels) channels with stride \(stride)")
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.stride = stride
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        // A 1×1 average pool with stride s is x[:, :, ::s, ::s].
        let sub = stride == 1 ? x : try Functional.avgPool2d(x, kernel: (1, 1), stride: (stride, stride))
        let extra = outChannels - inChannels
        guard extra > 0 else { return sub }
        return try sub.pad([0, 0, 0, 0, extra / 2, extra - extra / 2])
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        [input[0], outChannels, (input[2] - 1) / stride + 1, (input[3] - 1) / stride + 1]
    }
}

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

        public var kind: ModelArchitecture.Kind {
            switch self {
            case .resNet18: .resNet18
            case .resNet34: .resNet34
            case .resNet50: .resNet50
            case .resNet20: .resNet20
            case .resNet32: .resNet32
            case .resNet44: .resNet44
            case .resNet56: .resNet56
            case .resNet110: .resNet110
            }
        }

        public init?(kind: ModelArchitecture.Kind) {
            guard let d = Depth.allCases.first(where: { $0.kind == kind }) else { return nil }
            self = d
        }

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

    private let hasMaxPool: Bool
    private let stageChildIndices: [Int]
    private let avgPoolIndex: Int
    private let fcIndex: Int
    /// Per stage, per block: the collapsible name (nil for a first block) and its index.
    private let stageBlockNames: [[String?]]
    private let stageBlockIndices: [[Int]]

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
        guard let depth = Depth(kind: architecture.kind) else {
            throw ModelError("\(architecture.kind.rawValue) is not a ResNet")
        }
        let width = architecture.width ?? depth.defaultWidth
        let shortcut = architecture.shortcut ?? depth.defaultShortcut
        guard architecture.classCount > 0, architecture.inputChannels > 0, width > 0 else {
            throw ModelError("ResNet needs positive classes, input channels and width; got \(architecture)")
        }
        guard architecture.widthMultiplier == nil, architecture.dropout == nil else {
            throw ModelError("ResNet takes no width multiplier or dropout (those are MobileNetV2's)")
        }
        var arch = architecture
        arch.width = width
        arch.shortcut = shortcut
        self.architecture = arch
        self.depth = depth
        let g = try generator ?? Generator(seed: 0)

        // Stem.
        let stemConv: Conv2d = architecture.stem == .imageNet
            ? try Conv2d(architecture.inputChannels, width, kernelSize: 7, stride: 2, padding: 3, bias: false, generator: g)
            : try Conv2d(architecture.inputChannels, width, kernelSize: 3, stride: 1, padding: 1, bias: false, generator: g)
        hasMaxPool = architecture.stem != .cifarNoMaxPool

        // Stages: shortcut first, then the block (torchvision's order of construction).
        let expansion = depth.usesBottleneck ? Bottleneck.expansion : BasicBlock.expansion
        var stages: [Sequential] = []
        var names: [String] = []
        var stageNames: [[String?]] = []
        var stageIndices: [[Int]] = []
        var inPlanes = width
        for (s, count) in depth.layerBlockCounts.enumerated() {
            let planes = width << s
            let stageStride = s == 0 ? 1 : 2
            var blocks: [Module] = []
            var blockNames: [String?] = []
            var blockIndices: [Int] = []
            for b in 0..<count {
                let stride = b == 0 ? stageStride : 1
                var sc: Module?
                if stride != 1 || inPlanes != planes * expansion {
                    switch shortcut {
                    case .projection:
                        sc = Sequential(
                            try Conv2d(inPlanes, planes * expansion, kernelSize: 1, stride: stride, bias: false, generator: g),
                            try BatchNorm2d(planes * expansion))
                    case .zeroPad:
                        sc = try ZeroPadShortcut(inChannels: inPlanes, outChannels: planes * expansion, stride: stride)
                    }
                }
                let block: Module = depth.usesBottleneck
                    ? try Bottleneck(inPlanes: inPlanes, planes: planes, stride: stride, shortcut: sc, generator: g)
                    : try BasicBlock(inPlanes: inPlanes, planes: planes, stride: stride, shortcut: sc, generator: g)
                blocks.append(block)
                if b > 0 {
                    blockNames.append("layer\(s + 1).\(b)")
                    blockIndices.append(names.count)
                    names.append("layer\(s + 1).\(b)")
                } else {
                    blockNames.append(nil)
                    blockIndices.append(-1)
                }
                inPlanes = planes * expansion
            }
            stages.append(Sequential(blocks))
            stageNames.append(blockNames)
            stageIndices.append(blockIndices)
        }
        let fc = try Linear(inPlanes, architecture.classCount, generator: g)
        collapsibleBlockNames = names
        stageBlockNames = stageNames
        stageBlockIndices = stageIndices

        var index = hasMaxPool ? 4 : 3
        stageChildIndices = stages.indices.map { $0 + index }
        index += stages.count
        avgPoolIndex = index
        fcIndex = index + 1
        super.init()

        try registerModule("conv1", stemConv)
        try registerModule("bn1", BatchNorm2d(width))
        try registerModule("relu", ReLU())
        if hasMaxPool { try registerModule("maxpool", MaxPool2d(kernelSize: 3, stride: 2, padding: 1)) }
        for (s, stage) in stages.enumerated() { try registerModule("layer\(s + 1)", stage) }
        try registerModule("avgpool", AdaptiveAvgPool2d(outputSize: (1, 1)))
        try registerModule("fc", fc)

        // torchvision's re-initialization, in module order.
        for (_, m) in namedModules() {
            if let conv = m as? Conv2d {
                try Init.kaimingNormal(conv.weight, mode: .fanOut, nonlinearity: .relu, generator: g)
            }
        }
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try run(x, observe: nil) }

    public func forward(_ x: Tensor, observe: (BlockEvent) throws -> Void) throws -> Tensor {
        try withoutActuallyEscaping(observe) { try run(x, observe: $0) }
    }

    private func run(_ input: Tensor, observe: ((BlockEvent) throws -> Void)?) throws -> Tensor {
        let c = children
        var h = memoryFormat == .channelsLast && input.rank == 4 ? try input.contiguous(.channelsLast) : input
        h = try c[2].forward(c[1].forward(c[0].forward(h)))
        if hasMaxPool { h = try c[3].forward(h) }
        for (s, i) in stageChildIndices.enumerated() {
            h = try runStage(c[i], h, names: stageBlockNames[s], indices: stageBlockIndices[s], observe: observe)
        }
        h = try c[avgPoolIndex].forward(h).flatten(from: 1)
        return try c[fcIndex].forward(h)
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        var h = input
        for i in 0..<avgPoolIndex { h = try analyzeChild(i, h, path: path, context: &context) }
        h = try analyzeChild(avgPoolIndex, h, path: path, context: &context)
        h = [h[0], h.dropFirst().reduce(1, *)]
        return try analyzeChild(fcIndex, h, path: path, context: &context)
    }
}
