import Datasets
import Foundation
import LaCoOT
@testable import LacootWorkflow
import Models
import NN
import Serialization
import Testing
import TestSupport
import Torch

@Suite struct CollapsedModelTests {
    @Test func aSavedCollapsedModelReloadsWithIdenticalLogits() throws {
        let model = try tinyModel(seed: 7)
        try model.collapse(["layer1.1", "layer4.1"])
        model.eval()
        let folder = try temporaryFolder()
        let url = try CollapsedModel.save(model, normalization: tinyNormalization, classNames: ["a", "b", "c", "d"],
                                          to: folder.appendingPathComponent("collapsed.json"))
        let (loaded, manifest) = try CollapsedModel.load(from: url)
        #expect(manifest.removedBlocks == ["layer1.1", "layer4.1"])
        #expect(manifest.classNames == ["a", "b", "c", "d"])
        #expect(loaded.collapsedBlocks == ["layer1.1", "layer4.1"])
        let x = try Tensor.randn([2, 1, 32, 32], generator: Generator(seed: 8))
        let a = try withNoGrad { try model(x).floats() }
        let b = try withNoGrad { try loaded(x).floats() }
        #expect(a == b)
        // no tensors of the removed blocks in the weights file
        let keys = try Safetensors.read(contentsOf: folder.appendingPathComponent("collapsed.safetensors")).names
        #expect(!keys.contains { $0.hasPrefix("layer1.1.") || $0.hasPrefix("layer4.1.") })
        #expect(keys.contains("layer1.0.conv1.weight"))
    }

    /// A manifest whose weights file is gone (copied alone) names the weights and the
    /// manifest; a missing manifest names itself.
    @Test func missingFilesAreNamed() throws {
        let model = try tinyModel(seed: 3)
        try model.collapse(["layer2.1"])
        let folder = try temporaryFolder()
        let manifestURL = try CollapsedModel.save(model, normalization: tinyNormalization,
                                                  to: folder.appendingPathComponent("collapsed.json"))
        let weightsURL = folder.appendingPathComponent("collapsed.safetensors")
        try FileManager.default.removeItem(at: weightsURL)
        #expect(throws: ModelError.missingFile(path: weightsURL.path, namedBy: manifestURL.path)) {
            try CollapsedModel.load(from: manifestURL)
        }
        let nowhere = folder.appendingPathComponent("nowhere.json")
        #expect(throws: ModelError.missingFile(path: nowhere.path, namedBy: nil)) { try CollapsedModel.load(from: nowhere) }
        // weights that are there but cut short: the safetensors error names them
        try CollapsedModel.save(model, normalization: tinyNormalization, to: manifestURL)
        try Data(try Data(contentsOf: weightsURL).dropLast(8)).write(to: weightsURL)
        let error = #expect(throws: SafetensorsError.self) { try CollapsedModel.load(from: manifestURL) }
        #expect(error?.file == weightsURL.path)
    }
}

@Suite(.enabled(if: ReferencePython.hasReference, ".venv-ref (Debian's PyTorch and torchvision) is missing: run scripts/setup"))
struct PyTorchLoadingTests {
    /// The repository root (this file is Tests/LacootWorkflowTests/CollapsedModelTests.swift).
    var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    @Test func aCollapsedModelLoadsInPyTorchWithTheSameLogits() throws {
        let model = try ResNet(.resNet18, classCount: 5, inputChannels: 1, width: 8, generator: Generator(seed: 11))
        try model.collapse(["layer2.1", "layer3.1"])
        try expectPyTorchReproduces(model, input: Tensor.randn([3, 1, 32, 32], generator: Generator(seed: 12)))
    }

    /// torchvision's MobileNetV2 and ResNet-50 (ImageNet stems, one input channel), collapsed
    /// here, load strictly into torchvision's own models with nn.Identity at the removed blocks
    /// and give the same logits.
    @Test func aCollapsedMobileNetV2AndResNet50LoadInTorchvisionWithTheSameLogits() throws {
        let mobile = try ModelArchitecture(kind: .mobileNetV2, classCount: 5, inputChannels: 1, stem: .imageNet)
            .build(generator: Generator(seed: 21))
        try mobile.collapse(["features.5", "features.12", "features.16"])
        try expectPyTorchReproduces(mobile, input: Tensor.randn([2, 1, 64, 64], generator: Generator(seed: 22)))
        let resnet = try ModelArchitecture(kind: .resNet50, classCount: 5, inputChannels: 1, stem: .imageNet, width: 64)
            .build(generator: Generator(seed: 23))
        try resnet.collapse(["layer1.1", "layer3.4", "layer4.2"])
        try expectPyTorchReproduces(resnet, input: Tensor.randn([2, 1, 64, 64], generator: Generator(seed: 24)))
    }

    /// A collapsed ViT loads strictly into torchvision's VisionTransformer with nn.Identity at the
    /// removed layer (and a one-channel conv_proj) and gives the same logits.
    @Test func aCollapsedViTLoadsInTorchvisionWithTheSameLogits() throws {
        let size = ModelArchitecture.Transformer(imageSize: 32, patchSize: 8, layers: 3, heads: 2, hiddenDim: 16, mlpDim: 32)
        let g = try Generator(seed: 13)
        let model = try VisionTransformer(classCount: 5, inputChannels: 1, size: size, generator: g)
        let head = try #require(model.heads.module[0] as? Linear)
        try Init.normal(head.weight, std: 0.2, generator: g)   // torchvision's head starts at zero
        try model.collapse("encoder.layers.encoder_layer_1")
        try expectPyTorchReproduces(model, input: Tensor.randn([3, 1, 32, 32], generator: Generator(seed: 14)))
    }

    /// A Swin we trained (a few steps with the regularizer on the MLP-branch tap, so every
    /// weight moved) and collapsed loads strictly into torchvision's SwinTransformer with
    /// nn.Identity at the removed blocks and gives the same logits.
    @Test func aTrainedCollapsedSwinLoadsInTorchvisionWithTheSameLogits() throws {
        let size = ModelArchitecture.Swin(patchSize: 2, embedDim: 8, depths: [2, 2], heads: [2, 4], windowSize: 4,
                                          stochasticDepth: 0.1)
        let model = try SwinTransformer(classCount: 4, inputChannels: 1, size: size, generator: Generator(seed: 15))
        var config = Recipe.transformer.applied(to: TrainingConfig())
        config.regularizer.lambda = 1
        config.regularizer.tap = .mlpBranch
        config.regularizer.projections = 4
        let trainer = try Trainer(model: model, config: config, normalization: tinyNormalization)
        let before = try model.stateDict().map { try $0.tensor.detach().clone() }
        let g = try Generator(seed: 16)
        for _ in 0..<3 {
            _ = try trainer.step(images: Tensor.randn([8, 1, 18, 18], generator: g),
                                 labels: Tensor.randint(low: 0, high: 4, shape: [8], generator: g), fractionalEpoch: 0.5)
        }
        let moved = try zip(before, model.stateDict()).filter { try $0.0.floats() != $0.1.tensor.floats() }.count
        #expect(moved > before.count / 2, "training moved only \(moved) of \(before.count) tensors")
        try model.collapse(["features.1.1", "features.3.0"])
        try expectPyTorchReproduces(model, input: Tensor.randn([3, 1, 18, 18], generator: Generator(seed: 17)))
    }

    /// Saves `model` as the CLI does, has Benchmarks/reference/load_collapsed.py load it strictly
    /// in PyTorch and run `input`, and compares the logits.
    private func expectPyTorchReproduces(_ model: any CollapsibleModel, input x: Tensor,
                                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        let python = ReferencePython.reference
        model.eval()
        let folder = try temporaryFolder()
        let manifest = try CollapsedModel.save(model, normalization: tinyNormalization,
                                               to: folder.appendingPathComponent("collapsed.json"))
        let input = folder.appendingPathComponent("input.safetensors")
        let output = folder.appendingPathComponent("logits.safetensors")
        try Safetensors.write([("input", x)], to: input)
        let process = Process()
        process.executableURL = python
        process.arguments = [root.appendingPathComponent("Benchmarks/reference/load_collapsed.py").path,
                             manifest.path, input.path, output.path]
        let err = Pipe()
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(message)", sourceLocation: sourceLocation)
        let theirs = try #require(try Safetensors.read(contentsOf: output)["logits"], sourceLocation: sourceLocation).floats()
        let ours = try withNoGrad { try model(x).floats() }
        #expect(theirs.count == ours.count, sourceLocation: sourceLocation)
        let worst = zip(theirs, ours).map { abs($0 - $1) }.max() ?? .infinity
        let scale = theirs.map { abs($0) }.max() ?? 0
        #expect(worst < 1e-4 * max(1, scale), "max |Δ logit| = \(worst) (max |logit| \(scale))", sourceLocation: sourceLocation)
    }
}

@Suite struct PredictorTests {
    /// The predictor's probabilities are the model's softmax on the image padded and
    /// normalized as training does; a larger image is resized and centre-cropped; the top
    /// classes come in decreasing order with their names.
    @Test func predictionsAreTheModelsSoftmax() throws {
        let model = try ResNet(.resNet18, classCount: 4, inputChannels: 1, width: 4, generator: Generator(seed: 21))
        model.eval()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("predict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var g = SeededBytes(seed: 3)
        let small = DecodedImage(pixels: (0..<(28 * 28)).map { _ in g.next() }, width: 28, height: 28, channels: 1)
        let large = DecodedImage(pixels: (0..<(64 * 80)).map { _ in g.next() }, width: 80, height: 64, channels: 1)
        let files = [dir.appendingPathComponent("small.png").path, dir.appendingPathComponent("large.png").path]
        try Data(ImageCodec.encodePNG(small)).write(to: URL(fileURLWithPath: files[0]))
        try Data(ImageCodec.encodePNG(large)).write(to: URL(fileURLWithPath: files[1]))
        let normalization = Normalization(mean: [0.3], std: [0.2])
        let predictor = try Predictor(model: model, classNames: ["a", "b", "c", "d"], normalization: normalization,
                                  inputShape: [1, 32, 32])
        let predictions = try predictor.predict(files: files, top: 3)
        #expect(predictions.map(\.file) == files && predictions.allSatisfy { $0.top.count == 3 })
        // by hand: pad 28 → 32 (2 on each side), normalize, softmax
        var canvas = [Float](repeating: 0, count: 32 * 32)
        for y in 0..<28 { for x in 0..<28 { canvas[(y + 2) * 32 + x + 2] = Float(small.pixels[y * 28 + x]) / 255 } }
        let x = try (Tensor(canvas, shape: [1, 1, 32, 32]) - 0.3) / 0.2
        let expected = try withNoGrad { try Functional.softmax(model(x), dim: 1) }.floats()
        let order = expected.indices.sorted { expected[$0] > expected[$1] }
        #expect(predictions[0].top.map(\.index) == Array(order.prefix(3)))
        #expect(predictions[0].top.map(\.class) == order.prefix(3).map { ["a", "b", "c", "d"][$0] })
        for (entry, i) in zip(predictions[0].top, order) { #expect(abs(entry.probability - Double(expected[i])) < 1e-6) }
        // the large image: resized to 32 on its shorter side, then centre-cropped to 32×32
        let resized = ImageCodec.centerCrop(try ImageCodec.resizeAndCenterCrop(large, size: 32), width: 32, height: 32)
        let y = try (Tensor(resized.planar.map { Float($0) / 255 }, shape: [1, 1, 32, 32]) - 0.3) / 0.2
        let best = try withNoGrad { try model(y) }.argmax(dim: 1).values(as: Int64.self)[0]
        #expect(predictions[1].top[0].index == Int(best))
        #expect(throws: (any Error).self) { try predictor.predict(files: [dir.appendingPathComponent("missing.png").path]) }
    }
}

/// Deterministic bytes for test images.
struct SeededBytes {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt8 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return UInt8(truncatingIfNeeded: state >> 24)
    }
}
