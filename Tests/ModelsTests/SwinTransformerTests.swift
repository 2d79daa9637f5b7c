import Foundation
import Testing
@testable import Models
import NN
import Torch

/// A Swin small enough for quick tests: patch 2, embed 8, depths 2-2, heads 2-4, window 4.
let tinySwinSize = ModelArchitecture.Swin(patchSize: 2, embedDim: 8, depths: [2, 2], heads: [2, 4], windowSize: 4,
                                          stochasticDepth: 0.2)

@Suite struct SwinTransformerTests {
    @Test func swinTHasTorchvisionsParametersAndBlocks() throws {
        let model = try SwinTransformer(classCount: 1000, generator: Generator(seed: 0))
        #expect(model.parameterCount == 28_288_354)
        #expect(model.architecture.label == "Swin-T (1000 classes)")
        #expect(model.collapsibleBlockNames == ["features.1.0", "features.1.1", "features.3.0", "features.3.1"]
                + (0..<6).map { "features.5.\($0)" } + ["features.7.0", "features.7.1"])
        let keys = model.stateDict().map(\.name)
        for key in ["features.0.0.weight", "features.0.2.bias", "features.1.0.norm1.weight",
                    "features.1.0.attn.relative_position_bias_table", "features.1.0.attn.relative_position_index",
                    "features.1.1.attn.qkv.weight", "features.1.1.mlp.3.bias", "features.2.reduction.weight",
                    "features.2.norm.bias", "features.5.5.attn.proj.weight", "norm.weight", "head.bias"] {
            #expect(keys.contains(key), "\(key)")
        }
        // Stochastic depth grows linearly from 0 to 0.2 over the 12 blocks; odd blocks shift.
        let blocks = model.collapsibleBlockNames.compactMap { model.module(at: $0) as? SwinBlock }
        #expect(blocks.count == 12)
        #expect(blocks.first?.stochasticDepth.module.p == 0 && abs((blocks.last?.stochasticDepth.module.p ?? 0) - 0.2) < 1e-12)
        #expect(blocks.map { $0.attn.module.shift.0 } == [0, 3, 0, 3, 0, 3, 0, 3, 0, 3, 0, 3])
        // Block shapes at 224×224: 56², 28², 14², 7² tokens.
        let shapes = try model.collapsibleBlocks(height: 224).map(\.shape)
        #expect(shapes.first == [56, 56, 96] && shapes.last == [7, 7, 768])
        // MACs: the patch conv, every Linear and both attention products on the padded windows.
        let macs = try model.cost(height: 224).macs
        #expect(macs == 4_490_566_656, "torchvision documents 4.49 GFLOPS for swin_t")
    }

    @Test func blocksAreObservedCollapsedAndReloaded() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try SwinTransformer(classCount: 3, inputChannels: 1, size: tinySwinSize, generator: Generator(seed: 1))
        model.eval()
        let x = try Tensor.randn([2, 1, 20, 20], generator: Generator(seed: 2))
        var events: [BlockEvent] = []
        let logits = try model.forward(x) { events.append($0) }
        #expect(events.map(\.name) == ["features.1.0", "features.1.1", "features.3.0", "features.3.1"])
        #expect(events.map(\.input.shape) == [[2, 10, 10, 8], [2, 10, 10, 8], [2, 5, 5, 16], [2, 5, 5, 16]])
        #expect(events.allSatisfy { $0.input.shape == $0.output.shape })
        #expect(try logits.floats() == model(x).floats())
        let before = model.stateDict().map(\.name)
        try model.collapse("features.3.0")
        #expect(model.stateDict().map(\.name) == before.filter { !$0.hasPrefix("features.3.0.") })
        var names: [String] = []
        _ = try model.forward(x) { names.append($0.name) }
        #expect(names == ["features.1.0", "features.1.1", "features.3.1"])
        let url = dir.appendingPathComponent("swin.safetensors")
        try ModelFile.save(model, to: url)
        let (loaded, manifest) = try ModelFile.load(from: url)
        #expect(manifest.architecture.swin == tinySwinSize && manifest.removedBlocks == ["features.3.0"])
        #expect(manifest.architecture.differences(from: model.architecture).isEmpty)
        #expect(ModelArchitecture(kind: .swinTransformer, classCount: 3, inputChannels: 1, stem: .imageNet)
            .differences(from: model.architecture).map { $0.prefix(4) } == ["swin"])
        #expect(try loaded(x).bytes() == model(x).bytes())
        // Training mode: stochastic depth draws from per-block generators (the first block has p = 0).
        #expect(model.namedGenerators().map(\.name) == ["features.1.1.stochastic_depth.generator",
                                                        "features.3.1.stochastic_depth.generator"])
    }

    /// The MLP-branch tap: each Swin block and ViT layer reports mlp(norm2(x)) — the branch
    /// before stochastic depth and the residual add — and its output is unchanged by reporting it.
    @Test func blocksReportTheirMLPBranch() throws {
        let swin = try SwinTransformer(classCount: 3, inputChannels: 1, size: tinySwinSize, generator: Generator(seed: 3))
        swin.eval()
        let x = try Tensor.randn([2, 1, 20, 20], generator: Generator(seed: 4))
        var events: [BlockEvent] = []
        let logits = try swin.forward(x) { events.append($0) }
        #expect(try logits.floats() == swin(x).floats())
        for event in events {
            let block = try #require(swin.module(at: event.name) as? SwinBlock)
            let h = try event.input + block.attn.module(block.norm1.module(event.input))
            let branch = try #require(event.features(.mlpBranch))
            #expect(try branch.floats() == block.mlp.module(block.norm2.module(h)).floats(), "\(event.name)")
            #expect(try event.features(.output)?.floats() == (h + branch).floats(), "\(event.name)")
        }
        let vit = try VisionTransformer(classCount: 3, inputChannels: 1, size: .init(imageSize: 16, patchSize: 4, layers: 2,
                                                                                      heads: 2, hiddenDim: 8, mlpDim: 16),
                                        generator: Generator(seed: 5))
        var vitEvents: [BlockEvent] = []
        _ = try vit.forward(Tensor.randn([2, 1, 16, 16], generator: Generator(seed: 6))) { vitEvents.append($0) }
        #expect(vitEvents.count == 2 && vitEvents.allSatisfy { $0.branch?.shape == $0.output.shape })
        // a ResNet block has no MLP branch
        let resnet = try ResNet(.resNet18, classCount: 3, inputChannels: 1, width: 4, generator: Generator(seed: 7))
        var cnnEvents: [BlockEvent] = []
        _ = try resnet.forward(Tensor.randn([2, 1, 32, 32], generator: Generator(seed: 8))) { cnnEvents.append($0) }
        #expect(!cnnEvents.isEmpty && cnnEvents.allSatisfy { $0.features(.mlpBranch) == nil })
        #expect(ModelArchitecture.Kind.swinTransformer.hasMLPBranches && !ModelArchitecture.Kind.resNet18.hasMLPBranches)
    }
}
