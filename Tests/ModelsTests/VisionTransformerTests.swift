import Foundation
import Testing
@testable import Models
import NN
import Torch

/// A ViT small enough for quick tests: 16×16 images in 4×4 patches (16 tokens + the class
/// token), 3 layers of width 16 with 2 heads, MLP 32.
private let tinySize = ModelArchitecture.Transformer(imageSize: 16, patchSize: 4, layers: 3, heads: 2, hiddenDim: 16,
                                                     mlpDim: 32)

/// A tiny ViT (16×16 inputs) whose zero-initialized head (torchvision's init) is given random
/// weights, so that every parameter matters in the logits.
func tinyViT(classCount: Int = 5, inputChannels: Int = 1, seed: UInt64) throws -> VisionTransformer {
    let g = try Generator(seed: seed)
    let model = try VisionTransformer(classCount: classCount, inputChannels: inputChannels, size: tinySize, generator: g)
    let head = try #require(model.heads.module[0] as? Linear)
    try Init.normal(head.weight, std: 0.2, generator: g)
    return model
}

@Suite struct VisionTransformerTests {
    @Test func vitB16HasTorchvisionsParametersKeysAndMACs() throws {
        let model = try VisionTransformer.vitB16(generator: Generator(seed: 0))
        #expect(model.parameterCount == 86_567_656)
        let keys = model.stateDict().map(\.name)
        #expect(Array(keys.prefix(6)) == ["class_token", "conv_proj.weight", "conv_proj.bias", "encoder.pos_embedding",
                                   "encoder.layers.encoder_layer_0.ln_1.weight", "encoder.layers.encoder_layer_0.ln_1.bias"])
        let layer = "encoder.layers.encoder_layer_11."
        for suffix in ["self_attention.in_proj_weight", "self_attention.in_proj_bias", "self_attention.out_proj.weight",
                       "self_attention.out_proj.bias", "ln_2.weight", "mlp.0.weight", "mlp.0.bias", "mlp.3.weight", "mlp.3.bias"] {
            #expect(keys.contains(layer + suffix), "\(layer + suffix)")
        }
        #expect(Array(keys.suffix(4)) == ["encoder.ln.weight", "encoder.ln.bias", "heads.head.weight", "heads.head.bias"])
        #expect(keys.count == 4 + 12 * 12 + 4)
        #expect(model.collapsibleBlockNames.count == 12)
        #expect(model.collapsibleBlockNames.last == "encoder.layers.encoder_layer_11")
        #expect(model.architecture.label == "ViT-B/16 (224×224, 1000 classes)")
        // MACs: conv_proj, the linear layers and both attention products (q·kᵀ, weights·v):
        // torchvision's documented 17.56 GFLOPS for vit_b_16.
        let cost = try model.cost()
        #expect(cost.inputShape == [1, 3, 224, 224] && cost.outputShape == [1, 1000])
        #expect(cost.macs == 17_563_828_224)
        let blocks = try model.collapsibleBlocks
        #expect(blocks.allSatisfy { $0.shape == [197, 768] && $0.macs == 1_453_954_560 && $0.parameters == 7_087_872 })
    }

    @Test func theSmallViTDefaultsAndItsBlocks() throws {
        let model = try VisionTransformer(classCount: 10, generator: Generator(seed: 0))
        #expect(model.size == .small)
        #expect(model.architecture.nominalInputSize == 32)
        #expect(model.parameterCount == 3_583_306)
        #expect(model.architecture.label == "ViT (patch 4, depth 8, width 192, 3 heads, MLP 768, 32×32, 10 classes)")
        #expect(model.collapsibleBlockNames == (0..<8).map { "encoder.layers.encoder_layer_\($0)" })
        let blocks = try model.collapsibleBlocks
        #expect(blocks.map(\.index) == Array(0..<8))
        #expect(blocks.allSatisfy { $0.shape == [65, 192] && $0.parameters == 444_864 })
        // Per layer: in_proj 65·192·576, attention 2·65²·192, out_proj 65·192², MLP 2·65·192·768.
        let layerMACs = 65 * 192 * 576 + 2 * 65 * 65 * 192 + 65 * 192 * 192 + 2 * 65 * 192 * 768
        #expect(blocks.allSatisfy { $0.macs == layerMACs })
        let stemAndHead = 64 * 192 * 48 + 192 * 10
        #expect(try model.cost().macs == 8 * layerMACs + stemAndHead)
        try model.collapse(model.collapsibleBlockNames)
        #expect(try model.cost().macs == stemAndHead)
        // No stochastic layers by default, so no generators to checkpoint.
        #expect(model.namedGenerators().isEmpty)
    }

    @Test func observedForwardReportsEveryEncoderLayer() throws {
        let model = try tinyViT(seed: 1)
        model.eval()
        let x = try Tensor.randn([3, 1, 16, 16], generator: Generator(seed: 2))
        var events: [BlockEvent] = []
        let logits = try model.forward(x) { events.append($0) }
        #expect(events.map(\.name) == model.collapsibleBlockNames)
        #expect(events.map(\.index) == [0, 1, 2])
        #expect(events.allSatisfy { $0.input.shape == [3, 17, 16] && $0.output.shape == [3, 17, 16] })
        #expect(try logits.floats() == model(x).floats())
        // Each layer's output is the next one's input.
        #expect(try events[1].input.floats() == events[0].output.floats())
        // A loss on a layer's features reaches that layer and the layers below, not the head.
        try (events[1].output - events[1].input).square().sum().backward()
        let grads = Dictionary(uniqueKeysWithValues: try model.namedParameters().map { ($0.name, try $0.tensor.grad) })
        #expect(grads["encoder.layers.encoder_layer_1.self_attention.in_proj_weight"]! != nil)
        #expect(grads["conv_proj.weight"]! != nil && grads["class_token"]! != nil)
        #expect(grads["encoder.layers.encoder_layer_2.mlp.0.weight"]! == nil)
        #expect(grads["heads.head.weight"]! == nil)
        // Collapsed layers are skipped and not reported.
        try model.collapse("encoder.layers.encoder_layer_1")
        var names: [String] = []
        _ = try model.forward(x) { names.append($0.name) }
        #expect(names == ["encoder.layers.encoder_layer_0", "encoder.layers.encoder_layer_2"])
    }

    @Test func collapsingALayerKeepsEveryOtherKeyAndReloadsIdentically() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try tinyViT(classCount: 4, inputChannels: 2, seed: 3)
        model.eval()
        let x = try Tensor.randn([2, 2, 16, 16], generator: Generator(seed: 4))
        let before = model.stateDict().map(\.name)
        let full = try model(x).floats()
        try model.collapse("encoder.layers.encoder_layer_1")
        #expect(model.module(at: "encoder.layers.encoder_layer_1") is Identity)
        #expect(model.stateDict().map(\.name) == before.filter { !$0.hasPrefix("encoder.layers.encoder_layer_1.") })
        #expect(model.activeBlockNames == ["encoder.layers.encoder_layer_0", "encoder.layers.encoder_layer_2"])
        // The collapsed forward is the network with that layer skipped.
        let collapsed = try model(x).floats()
        #expect(collapsed != full)
        func m(_ path: String) throws -> Module { try #require(model.module(at: path)) }
        let patches = try m("conv_proj")(x).reshape([2, 16, 16]).permute([0, 2, 1])
        var h = try Tensor.cat([model.classToken.expand([2, -1, -1]), patches], dim: 1) + model.encoder.module.posEmbedding
        h = try m("encoder.layers.encoder_layer_2")(m("encoder.layers.encoder_layer_0")(h))
        let manual = try m("heads")(m("encoder.ln")(h).select(1, 0))
        #expect(maxAbsDiff(try manual.floats(), collapsed) < 1e-6)
        // Saved and reloaded (architecture rebuilt from the manifest, layer collapsed, strict load).
        let url = dir.appendingPathComponent("vit.safetensors")
        try ModelFile.save(model, to: url)
        let (loaded, manifest) = try ModelFile.load(from: url)
        #expect(manifest.architecture == model.architecture)
        #expect(manifest.architecture.transformer == tinySize)
        #expect(manifest.removedBlocks == ["encoder.layers.encoder_layer_1"])
        #expect(try loaded(x).bytes() == model(x).bytes())
    }

    @Test func channelsLastAndDropoutBehave() throws {
        let model = try tinyViT(seed: 7)
        model.eval()
        let x = try Tensor.randn([2, 1, 16, 16], generator: Generator(seed: 8))
        let nchw = try model(x).floats()
        try model.setMemoryFormat(.channelsLast)
        #expect(maxAbsDiff(try model(x).floats(), nchw) < 1e-5)
        // Wrong image sizes are named.
        #expect(throws: ModuleError.self) { try model(Tensor.randn([2, 1, 32, 32], generator: nil)) }
        // Dropout > 0: each Dropout has its own seeded generator; training runs reproduce.
        func make() throws -> VisionTransformer {
            try VisionTransformer(classCount: 3, inputChannels: 1, size: tinySize, dropout: 0.1, generator: Generator(seed: 9))
        }
        let a = try make(), b = try make()
        #expect(a.namedGenerators().count == 1 + 3 * 3)
        #expect(a.namedGenerators().first?.name == "encoder.dropout.generator")
        let seeds = try Set(a.namedGenerators().map { try $0.generator.state().bytes() })
        #expect(seeds.count == a.namedGenerators().count, "every Dropout draws its own masks")
        for model in [a, b] { try Init.normal(try #require(model.heads.module[0] as? Linear).weight, std: 0.2, generator: Generator(seed: 10)) }
        let ya = try a(x).floats()
        #expect(try b(x).floats() == ya)
        a.eval()
        #expect(try a(x).floats() != ya)
    }

    @Test func architectureRoundTripsAndRejectsBadSizes() throws {
        let model = try tinyViT(seed: 11)
        let data = try JSONEncoder().encode(model.architecture)
        let arch = try JSONDecoder().decode(ModelArchitecture.self, from: data)
        #expect(arch == model.architecture && arch.transformer == tinySize && arch.dropout == 0)
        let rebuilt = try arch.build(generator: Generator(seed: 11))
        #expect(rebuilt is VisionTransformer)
        #expect(rebuilt.stateDict().map(\.name) == model.stateDict().map(\.name))
        // An architecture without sizes gets the small ViT.
        let bare = try ModelArchitecture(kind: .visionTransformer, classCount: 10, stem: .cifar).build()
        #expect(bare.architecture.transformer == .small)
        // A config written without sizes is the same network as the model's full record; another
        // depth is one difference, named.
        let written = ModelArchitecture(kind: .visionTransformer, classCount: 10, stem: .cifar)
        #expect(written.differences(from: bare.architecture).isEmpty)
        var deeper = bare.architecture
        deeper.transformer?.layers = 4
        #expect(written.differences(from: deeper).count == 1 && written.differences(from: deeper)[0].hasPrefix("transformer"))
        var bad = tinySize
        bad.patchSize = 5
        #expect(throws: ModelError.self) { try VisionTransformer(classCount: 3, size: bad) }
        bad = tinySize
        bad.heads = 3
        #expect(throws: ModelError.self) { try VisionTransformer(classCount: 3, size: bad) }
        #expect(throws: ModelError.self) {
            try ModelArchitecture(kind: .visionTransformer, classCount: 3, stem: .cifar, width: 8, transformer: tinySize).build()
        }
    }
}
