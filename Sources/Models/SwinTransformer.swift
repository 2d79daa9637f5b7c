import NN
import Torch

/// torchvision's `SwinTransformerBlock` on [B, H, W, C] tokens:
/// x + stochastic_depth(attn(norm1(x))), then + stochastic_depth(mlp(norm2(·))) — the same
/// StochasticDepth module draws once per branch. Children `norm1`, `attn`, `stochastic_depth`,
/// `norm2`, `mlp` (MLP ratio × C hidden).
public final class SwinBlock: Module, BranchedBlock, ResidualScaled {
    public let norm1: Child<LayerNorm>
    public let attn: Child<ShiftedWindowAttention>
    public let stochasticDepth: Child<StochasticDepth>
    public let norm2: Child<LayerNorm>
    public let mlp: Child<MLPBlock>
    public var residualScale = 1.0

    init(dim: Int, heads: Int, window: Int, shift: Int, mlpRatio: Double, stochasticDepth p: Double, generator g: Generator,
         dropouts: DropoutMaker) throws {
        norm1 = Child("norm1", try LayerNorm([dim]))
        attn = Child("attn", try ShiftedWindowAttention(dim: dim, window: (window, window), shift: (shift, shift),
                                                       headCount: heads, generator: g))
        stochasticDepth = Child("stochastic_depth", try StochasticDepth(p: p, generator: dropouts.generator(for: p)))
        norm2 = Child("norm2", try LayerNorm([dim]))
        let block = try MLPBlock(dim, hidden: Int(Double(dim) * mlpRatio), generator: g)
        // torchvision's block re-initializes its MLP at once (the model overrides it later).
        for linear in [block.fc1.module, block.fc2.module] {
            try Init.xavierUniform(linear.weight, generator: g)
            if let bias = linear.bias { try Init.normal(bias, std: 1e-6, generator: g) }
        }
        mlp = Child("mlp", block)
        super.init()
        try register(norm1, attn, stochasticDepth, norm2, mlp)
    }

    public override func forward(_ input: Tensor) throws -> Tensor { try forwardWithBranch(input).output }

    func forwardWithBranch(_ input: Tensor) throws -> (output: Tensor, branch: Tensor) {
        let x = try input + stochasticDepth(attn(norm1(input))).scaled(by: residualScale)
        let branch = try mlp(norm2(x))
        return (try x + stochasticDepth(branch).scaled(by: residualScale), branch)
    }
}

/// torchvision's `SwinTransformer` (Liu et al. 2021) with its layout and keys — `features.0`
/// (patch conv, Permute to [B, H, W, C], LayerNorm), the stages `features.1, 3, 5, 7` of
/// blocks with PatchMerging at `features.2, 4, 6`, then `norm`, `head` — so torchvision's
/// weights load unchanged: `swin_t` (``ModelArchitecture/Swin/swinT``) or any size, any input
/// channels, classes and input size (the windows pad the maps).
///
/// Collapsible blocks: every SwinBlock (`features.1.0`, …, `features.7.1` for Swin-T), observed
/// with its input and output tokens [N, H, W, C]; PatchMerging never.
///
/// Initialization is torchvision's, draw for draw: every layer's default in construction order
/// (the window attention's bias table truncated-normal, each block's MLP xavier-uniform), then
/// every Linear truncated-normal std 0.02 with zero bias, in module order.
public final class SwinTransformer: Module, CollapsibleModel {
    public let architecture: ModelArchitecture
    public let collapsibleBlockNames: [String]
    public let size: ModelArchitecture.Swin
    public let features: Child<Sequential>
    public let norm: Child<LayerNorm>
    public let permute: Child<Permute>
    public let avgpool: Child<AdaptiveAvgPool2d>
    public let flatten: Child<Flatten>
    public let head: Child<Linear>
    /// The collapsible tags of each stage, by its index in `features`.
    private let stageBlocks: [Int: [ObservedBlock?]]

    /// A Swin Transformer of the given size (default: torchvision's Swin-T).
    public convenience init(classCount: Int, inputChannels: Int = 3, size: ModelArchitecture.Swin = .swinT,
                            generator: Generator? = nil) throws {
        let arch = ModelArchitecture(kind: .swinTransformer, classCount: classCount, inputChannels: inputChannels,
                                     stem: .imageNet, swin: size)
        try self.init(architecture: arch, generator: generator)
    }

    public init(architecture: ModelArchitecture, generator: Generator? = nil) throws {
        let arch = try Self.validated(architecture)
        let t = arch.swin ?? .swinT
        self.architecture = arch
        self.size = t
        let g = try generator ?? Generator(seed: 0)
        let dropouts = DropoutMaker(generator: g, salt: 0x5377_696e)
        let stem = Sequential(try Conv2d(arch.inputChannels, t.embedDim, kernelSize: t.patchSize, stride: t.patchSize,
                                         generator: g),
                              Permute([0, 2, 3, 1]), try LayerNorm([t.embedDim]))
        var layers: [Module] = [stem]
        var tags: [Int: [ObservedBlock?]] = [:]
        var names: [String] = []
        let total = t.depths.reduce(0, +)
        var blockID = 0
        for (stage, depth) in t.depths.enumerated() {
            let dim = t.embedDim << stage
            var blocks: [Module] = []
            var stageTags: [ObservedBlock?] = []
            for i in 0..<depth {
                let p = total > 1 ? t.stochasticDepth * Double(blockID) / Double(total - 1) : 0
                blocks.append(try SwinBlock(dim: dim, heads: t.heads[stage], window: t.windowSize,
                                            shift: i % 2 == 0 ? 0 : t.windowSize / 2, mlpRatio: t.mlpRatio,
                                            stochasticDepth: p, generator: g, dropouts: dropouts))
                let name = "features.\(layers.count).\(i)"
                stageTags.append(ObservedBlock(name: name, index: names.count))
                names.append(name)
                blockID += 1
            }
            tags[layers.count] = stageTags
            layers.append(Sequential(blocks))
            if stage < t.depths.count - 1 { layers.append(try PatchMerging(dim: dim, generator: g)) }
        }
        let built = Sequential(layers)
        let features = t.embedDim << (t.depths.count - 1)
        let normLayer = try LayerNorm([features])
        let headLayer = try Linear(features, arch.classCount, generator: g)
        for (_, m) in built.namedModules() + [("head", headLayer)] {
            guard let linear = m as? Linear else { continue }
            try Init.truncatedNormal(linear.weight, std: 0.02, generator: g)
            if let b = linear.bias { try b.zero_() }
        }
        self.features = Child("features", built)
        norm = Child("norm", normLayer)
        permute = Child("permute", Permute([0, 3, 1, 2]))
        avgpool = Child("avgpool", AdaptiveAvgPool2d(outputSize: (1, 1)))
        flatten = Child("flatten", Flatten(startDim: 1))
        head = Child("head", headLayer)
        stageBlocks = tags
        collapsibleBlockNames = names
        super.init()
        try register(self.features, norm, permute, avgpool, flatten, head)
    }

    /// The architecture with its defaults filled in, or an error naming what is wrong.
    private static func validated(_ architecture: ModelArchitecture) throws -> ModelArchitecture {
        guard architecture.kind == .swinTransformer else {
            throw ModelError.invalidArchitecture("\(architecture.kind.rawValue) is not a Swin Transformer")
        }
        var arch = architecture
        let t = architecture.swin ?? .swinT
        arch.swin = t
        let dimsFit = t.heads.enumerated().allSatisfy { i, h in h > 0 && (t.embedDim << i) % h == 0 }
        guard !t.depths.isEmpty, t.depths.count == t.heads.count, t.depths.allSatisfy({ $0 > 0 }), dimsFit,
              t.patchSize > 0, t.embedDim > 0, t.windowSize > 0, t.mlpRatio > 0, (0...1).contains(t.stochasticDepth) else {
            throw ModelError.invalidArchitecture("invalid Swin Transformer size \(t)")
        }
        guard arch.classCount > 0, arch.inputChannels > 0, arch.width == nil, arch.widthMultiplier == nil,
              arch.shortcut == nil, arch.transformer == nil else {
            throw ModelError.invalidArchitecture("invalid Swin Transformer configuration \(architecture)")
        }
        return arch
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try run(x, observe: nil) }

    public func forward(_ x: Tensor, observe: (BlockEvent) throws -> Void) throws -> Tensor {
        try withoutActuallyEscaping(observe) { try run(x, observe: $0) }
    }

    private func run(_ input: Tensor, observe: ((BlockEvent) throws -> Void)?) throws -> Tensor {
        var h = memoryFormat == .channelsLast && input.rank == 4 ? try input.contiguous(.channelsLast) : input
        for (i, slot) in features.module.slots.enumerated() {
            if let tags = stageBlocks[i], let stage = slot.module as? Sequential {
                h = try runStage(stage, h, blocks: tags, observe: observe)
            } else {
                h = try slot.module(h)
            }
        }
        return try head(flatten(avgpool(permute(norm(h)))))
    }
}

// MARK: - Family descriptor

extension ModelArchitecture.Kind {
    /// torchvision's `SwinTransformer` (`swin_t` and smaller), sized by ``ModelArchitecture/Swin``.
    public static let swinTransformer = Self(rawValue: "swinTransformer")
}

extension ModelFamily {
    /// torchvision's Swin Transformer (``SwinTransformer``).
    public static let swinTransformer = ModelFamily(
        name: "Swin Transformer", kinds: [.swinTransformer], variants: [.swinT], style: .transformer,
        importRules: ImportRules(classifierPrefix: "head.", stemKey: "features.0.0.weight"),
        build: { try SwinTransformer(architecture: $0, generator: $1) },
        normalize: { architecture in
            var arch = architecture
            arch.swin = arch.swin ?? .swinT                      // SwinTransformer.validated
            return arch
        },
        label: { a in
            let t = a.swin ?? .swinT
            if t == .swinT { return "Swin-T (\(a.classCount) classes)" }
            return "Swin (patch \(t.patchSize), embed \(t.embedDim), depths \(t.depths), heads \(t.heads), window \(t.windowSize), \(a.classCount) classes)"
        })
}

extension ModelVariant {
    /// torchvision's `swin_t`; the demo trains it from scratch.
    public static let swinT = ModelVariant(
        name: "swin_t", kind: .swinTransformer, sizing: .fixed,
        demo: .transformerBudget { _, classCount, inputChannels in
            ModelArchitecture(kind: .swinTransformer, classCount: classCount, inputChannels: inputChannels, stem: .cifar,
                              swin: .swinT)
        },
        make: { r in
            ModelArchitecture(kind: .swinTransformer, classCount: r.classCount, inputChannels: r.inputChannels,
                              stem: r.imageSize >= 224 ? .imageNet : .cifar, swin: .swinT)
        })
}
