import Costs
import NN
import Torch

/// Makes the Dropouts of one model: a layer with p > 0 gets its own generator, seeded from the
/// construction generator's state (drawing nothing from it) and a running count; p = 0 needs none.
final class DropoutMaker {
    private let source: Generator
    private let salt: UInt64
    private var count: UInt64 = 0

    init(generator: Generator, salt: UInt64) {
        self.source = generator
        self.salt = salt
    }

    func generator(for p: Double) throws -> Generator? {
        guard p > 0 else { return nil }
        count += 1
        return try Generator(seed: derivedSeed(from: source, salt: salt &+ count))
    }

    func dropout(_ p: Double) throws -> Dropout { try Dropout(p: p, generator: generator(for: p)) }
}

/// torchvision's ViT `EncoderBlock`: x + dropout(self_attention(ln_1(x))), then
/// + mlp(ln_2(·)). Children `ln_1`, `self_attention`, `dropout`, `ln_2`, `mlp` (LayerNorm
/// eps 1e-6), so the keys are `encoder.layers.encoder_layer_N.self_attention.in_proj_weight` etc.
public final class EncoderBlock: Module, BranchedBlock, ResidualScaled {
    public let ln1: Child<LayerNorm>
    public let selfAttention: Child<MultiheadAttention>
    public let dropout: Child<Dropout>
    public let ln2: Child<LayerNorm>
    public let mlp: Child<MLPBlock>
    public var residualScale = 1.0

    init(_ t: ModelArchitecture.Transformer, dropout p: Double, generator g: Generator, dropouts: DropoutMaker) throws {
        ln1 = Child("ln_1", try LayerNorm([t.hiddenDim], eps: 1e-6))
        selfAttention = Child("self_attention", try MultiheadAttention(embedDim: t.hiddenDim, headCount: t.heads, generator: g))
        dropout = Child("dropout", try dropouts.dropout(p))
        ln2 = Child("ln_2", try LayerNorm([t.hiddenDim], eps: 1e-6))
        let generators = try (dropouts.generator(for: p), dropouts.generator(for: p))
        let block = try MLPBlock(t.hiddenDim, hidden: t.mlpDim, dropout: p, generator: g, dropoutGenerators: generators)
        // torchvision's MLPBlock re-initializes its linear layers at once, in order.
        for linear in [block.fc1.module, block.fc2.module] {
            try Init.xavierUniform(linear.weight, generator: g)
            if let bias = linear.bias { try Init.normal(bias, std: 1e-6, generator: g) }
        }
        mlp = Child("mlp", block)
        super.init()
        try register(ln1, selfAttention, dropout, ln2, mlp)
    }

    public override func forward(_ input: Tensor) throws -> Tensor { try forwardWithBranch(input).output }

    func forwardWithBranch(_ input: Tensor) throws -> (output: Tensor, branch: Tensor) {
        let x = try dropout(selfAttention(ln1(input))).scaled(by: residualScale) + input
        let branch = try mlp(ln2(x))
        return (try x + branch.scaled(by: residualScale), branch)
    }
}

/// torchvision's ViT `Encoder`: adds the learned position table `pos_embedding` [1, S, E],
/// then dropout, the encoder layers (`layers.encoder_layer_N`) and the final LayerNorm `ln`.
public final class ViTEncoder: Module {
    public let dropout: Child<Dropout>
    /// The encoder layers, keyed "encoder_layer_0", "encoder_layer_1", ….
    public let layers: Child<Sequential>
    public let ln: Child<LayerNorm>
    /// Each layer as a collapsible block, named by its path from the model.
    let blocks: [ObservedBlock?]

    public var posEmbedding: Tensor { localParameters[0] }

    init(sequenceLength: Int, _ t: ModelArchitecture.Transformer, dropout p: Double, generator g: Generator,
         dropouts: DropoutMaker) throws {
        let table = try Tensor.empty([1, sequenceLength, t.hiddenDim])
        try Init.normal(table, std: 0.02, generator: g)
        dropout = Child("dropout", try dropouts.dropout(p))
        var named: [(name: String, module: Module)] = []
        for i in 0..<t.layers {
            let layer = try EncoderBlock(t, dropout: p, generator: g, dropouts: dropouts)
            named.append((name: "encoder_layer_\(i)", module: layer as Module))
        }
        layers = Child("layers", try Sequential(named: named))
        ln = Child("ln", try LayerNorm([t.hiddenDim], eps: 1e-6))
        blocks = (0..<t.layers).map { ObservedBlock(name: "encoder.layers.encoder_layer_\($0)", index: $0) }
        super.init()
        try registerParameter("pos_embedding", table)
        try register(dropout, layers, ln)
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try run(x, observe: nil) }

    func run(_ x: Tensor, observe: ((BlockEvent) throws -> Void)?) throws -> Tensor {
        let h = try dropout(x + posEmbedding)
        return try ln(runStage(layers.module, h, blocks: blocks, observe: observe))
    }
}

/// torchvision's `VisionTransformer` (Dosovitskiy et al. 2021) with its layout and parameter
/// names — `class_token`, `conv_proj`, `encoder.pos_embedding`,
/// `encoder.layers.encoder_layer_N.{ln_1, self_attention, ln_2, mlp}`, `encoder.ln`,
/// `heads.head` — in its state-dict order, so torchvision's weights load unchanged: `vit_b_16`
/// (``ModelArchitecture/Transformer/vitB16``) or any size, any input channels and classes.
///
/// The image is cut into patches by `conv_proj` (a patch-size convolution with stride = patch
/// size), the class token is put first, the encoder runs, and `heads.head` classifies the class
/// token's output. Inputs must be images of exactly `imageSize` × `imageSize`.
///
/// Collapsible blocks: every encoder layer (`encoder.layers.encoder_layer_0` …), each observed
/// with its input and output tokens [N, S, E].
///
/// Initialization is torchvision's, draw for draw: the default init of `conv_proj`, the
/// position table N(0, 0.02²), per layer the attention's `out_proj` default init then
/// xavier-uniform `in_proj_weight`, the MLP's default init then xavier-uniform weights and
/// N(0, 10⁻¹²) biases, the head's default init; then `conv_proj.weight` truncated-normal with
/// std √(1 / fan_in) (PyTorch 1.13's inverse-CDF draw, see ``Init/truncatedNormal``), its bias
/// and the whole head zero, the class token zero.
public final class VisionTransformer: Module, CollapsibleModel {
    public let architecture: ModelArchitecture
    public let collapsibleBlockNames: [String]
    public let size: ModelArchitecture.Transformer
    public let convProj: Child<Conv2d>
    public let encoder: Child<ViTEncoder>
    /// The classifier: one Linear keyed "head".
    public let heads: Child<Sequential>

    public var classToken: Tensor { localParameters[0] }

    /// A ViT of the given size (default: the small one for 32×32 images).
    public convenience init(classCount: Int, inputChannels: Int = 3, size: ModelArchitecture.Transformer = .small,
                            dropout: Double = 0, generator: Generator? = nil) throws {
        let arch = ModelArchitecture(kind: .visionTransformer, classCount: classCount, inputChannels: inputChannels,
                                     stem: size.imageSize >= 224 ? .imageNet : .cifar, dropout: dropout,
                                     transformer: size)
        try self.init(architecture: arch, generator: generator)
    }

    /// torchvision's `vit_b_16` (1000 classes and 224×224 by default).
    public static func vitB16(classCount: Int = 1000, inputChannels: Int = 3, imageSize: Int = 224,
                              generator: Generator? = nil) throws -> VisionTransformer {
        try VisionTransformer(classCount: classCount, inputChannels: inputChannels,
                              size: ModelArchitecture.Transformer.vitB16.withImageSize(imageSize), generator: generator)
    }

    public init(architecture: ModelArchitecture, generator: Generator? = nil) throws {
        let arch = try Self.validated(architecture)
        let t = arch.transformer ?? .small
        let p = arch.dropout ?? 0
        self.architecture = arch
        self.size = t
        let g = try generator ?? Generator(seed: 0)
        let dropouts = DropoutMaker(generator: g, salt: 0x5669_5400)
        let conv = try Conv2d(arch.inputChannels, t.hiddenDim, kernelSize: t.patchSize, stride: t.patchSize, generator: g)
        let built = try ViTEncoder(sequenceLength: t.patchCount + 1, t, dropout: p, generator: g, dropouts: dropouts)
        let head = try Linear(t.hiddenDim, arch.classCount, generator: g)
        // torchvision's last pass: the patchify stem, then the head.
        let fanIn = arch.inputChannels * t.patchSize * t.patchSize
        try Init.truncatedNormal(conv.weight, std: (1 / Double(fanIn)).squareRoot(), generator: g)
        if let b = conv.bias { try b.zero_() }
        try head.weight.zero_()
        if let b = head.bias { try b.zero_() }
        convProj = Child("conv_proj", conv)
        encoder = Child("encoder", built)
        heads = Child("heads", try Sequential(named: [(name: "head", module: head as Module)]))
        collapsibleBlockNames = built.blocks.compactMap { $0?.name }
        super.init()
        try registerParameter("class_token", Tensor.zeros([1, 1, t.hiddenDim]))
        try register(convProj, encoder, heads)
    }

    /// The architecture with its defaults filled in, or an error naming what is wrong.
    private static func validated(_ architecture: ModelArchitecture) throws -> ModelArchitecture {
        guard architecture.kind == .visionTransformer else {
            throw ModelError.invalidArchitecture("\(architecture.kind.rawValue) is not a Vision Transformer")
        }
        var arch = architecture
        let t = architecture.transformer ?? .small
        arch.transformer = t
        arch.dropout = architecture.dropout ?? 0
        guard [t.imageSize, t.patchSize, t.layers, t.heads, t.hiddenDim, t.mlpDim].allSatisfy({ $0 > 0 }) else {
            throw ModelError.invalidArchitecture("Vision Transformer sizes must be positive: \(t)")
        }
        guard t.imageSize % t.patchSize == 0 else {
            throw ModelError.invalidArchitecture(
                "Vision Transformer: image size \(t.imageSize) is not a multiple of the patch size \(t.patchSize)")
        }
        guard t.hiddenDim % t.heads == 0 else {
            throw ModelError.invalidArchitecture(
                "Vision Transformer: width \(t.hiddenDim) is not a multiple of the \(t.heads) heads")
        }
        guard arch.classCount > 0, arch.inputChannels > 0, (0..<1).contains(arch.dropout!), arch.width == nil,
              arch.widthMultiplier == nil, arch.shortcut == nil else {
            throw ModelError.invalidArchitecture("invalid Vision Transformer configuration \(architecture)")
        }
        return arch
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try run(x, observe: nil) }

    public func forward(_ x: Tensor, observe: (BlockEvent) throws -> Void) throws -> Tensor {
        try withoutActuallyEscaping(observe) { try run(x, observe: $0) }
    }

    private func run(_ input: Tensor, observe: ((BlockEvent) throws -> Void)?) throws -> Tensor {
        let shape = input.shape
        try checkInput(shape, path: "")
        let x = memoryFormat == .channelsLast ? try input.contiguous(.channelsLast) : input
        let n = shape[0]
        // [N, C, H, W] → [N, E, H/p, W/p] → [N, (H/p)(W/p), E], the class token first.
        let patches = try convProj(x).reshape([n, size.hiddenDim, size.patchCount]).permute([0, 2, 1])
        let tokens = try Tensor.cat([classToken.expand([n, -1, -1]), patches], dim: 1)
        let encoded = try encoder.module.run(tokens, observe: observe)
        return try heads(encoded.select(1, 0))
    }

    private func checkInput(_ shape: [Int], path: String) throws {
        let s = size.imageSize
        guard shape.count == 4, shape[1] == architecture.inputChannels, shape[2] == s, shape[3] == s else {
            throw ModuleError.inputShape(layer: "VisionTransformer", path: path,
                                         expected: "[N, \(architecture.inputChannels), \(s), \(s)] images", found: shape)
        }
    }

    /// `conv_proj`, the encoder on the tokens (the additions of the class token and the
    /// position table count zero), the head on the class token.
    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        try checkInput(input, path: path)
        let patches = try analyze(convProj, input, path: path, context: &context)
        let tokens = [patches[0], patches[2] * patches[3] + 1, patches[1]]
        let encoded = try analyze(encoder, tokens, path: path, context: &context)
        return try analyze(heads, [encoded[0], encoded[2]], path: path, context: &context)
    }
}

// MARK: - Family descriptor

extension ModelArchitecture.Kind {
    /// torchvision's `VisionTransformer` (`vit_b_16` and smaller), sized by ``ModelArchitecture/Transformer``.
    public static let visionTransformer = Self(rawValue: "visionTransformer")
}

extension ModelFamily {
    /// torchvision's Vision Transformer (``VisionTransformer``).
    public static let visionTransformer = ModelFamily(
        name: "Vision Transformer", kinds: [.visionTransformer], variants: [.vit, .vitB16], style: .transformer,
        importRules: ImportRules(classifierPrefix: "heads.head.", stemKey: "conv_proj.weight", inputSizeIsFixed: true),
        build: { try VisionTransformer(architecture: $0, generator: $1) },
        normalize: { architecture in
            var arch = architecture
            arch.transformer = arch.transformer ?? .small        // VisionTransformer.validated
            arch.dropout = arch.dropout ?? 0
            return arch
        },
        label: { a in
            let t = a.transformer ?? .small
            let size = "\(t.imageSize)×\(t.imageSize), \(a.classCount) classes"
            if t.withImageSize(224) == .vitB16 { return "ViT-B/16 (\(size))" }
            return "ViT (patch \(t.patchSize), depth \(t.layers), width \(t.hiddenDim), \(t.heads) heads, MLP \(t.mlpDim), \(size))"
        },
        nominalInputSize: { ($0.transformer ?? .small).imageSize })
}

extension ModelVariant {
    /// The small ViT (``ModelArchitecture/Transformer/small``) at the data's image size, each
    /// size flag overriding its part; the demo trains it from scratch.
    public static let vit = ModelVariant(
        name: "vit", kind: .visionTransformer, sizing: .transformer,
        demo: .transformerBudget { _, classCount, inputChannels in
            ModelArchitecture(kind: .visionTransformer, classCount: classCount, inputChannels: inputChannels, stem: .cifar,
                              transformer: .small)
        },
        make: { r in
            let small = ModelArchitecture.Transformer.small
            return vitArchitecture(r, ModelArchitecture.Transformer(
                imageSize: r.imageSize, patchSize: r.patchSize ?? small.patchSize, layers: r.depth ?? small.layers,
                heads: r.heads ?? small.heads, hiddenDim: r.width ?? small.hiddenDim, mlpDim: r.mlpDim ?? small.mlpDim))
        })

    /// torchvision's `vit_b_16` (made for 224×224 images; its position table follows the data's size).
    public static let vitB16 = ModelVariant(name: "vit_b_16", kind: .visionTransformer, sizing: .fixed, imageSize: 224) { r in
        vitArchitecture(r, ModelArchitecture.Transformer.vitB16.withImageSize(r.imageSize))
    }

    private static func vitArchitecture(_ r: Request, _ size: ModelArchitecture.Transformer) -> ModelArchitecture {
        ModelArchitecture(kind: .visionTransformer, classCount: r.classCount, inputChannels: r.inputChannels,
                          stem: r.imageSize >= 224 ? .imageNet : .cifar, dropout: 0, transformer: size)
    }
}
