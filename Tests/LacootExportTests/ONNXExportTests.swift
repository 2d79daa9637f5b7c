import Costs
import Foundation
import LaCoOT
import LacootExport
import Models
import NN
import TestSupport
import Testing
import Torch

/// Tiny models of every family, full and collapsed.
func exportCases() throws -> [(model: any CollapsibleModel, sample: [Int], block: String)] {
    let g = try Generator(seed: 11)
    let tinyViT = ModelArchitecture.Transformer(imageSize: 16, patchSize: 4, layers: 3, heads: 2, hiddenDim: 16, mlpDim: 32)
    let tinySwin = ModelArchitecture.Swin(patchSize: 2, embedDim: 8, depths: [2, 2], heads: [2, 4], windowSize: 4,
                                          stochasticDepth: 0.1)
    let models: [(model: any CollapsibleModel, sample: [Int], block: String)] = [
        (try ModelArchitecture(kind: .resNet18, classCount: 5, inputChannels: 1, stem: .cifar, width: 4).build(generator: g),
         [1, 16, 16], "layer2.1"),
        (try ModelArchitecture(kind: .resNet50, classCount: 5, inputChannels: 3, stem: .imageNet, width: 4).build(generator: g),
         [3, 40, 40], "layer1.2"),
        (try ModelArchitecture(kind: .resNet20, classCount: 5, inputChannels: 1, stem: .cifarNoMaxPool).build(generator: g),
         [1, 16, 16], "layer3.1"),
        (try MobileNetV2(classCount: 5, inputChannels: 1, widthMultiplier: 0.25, generator: g), [1, 32, 32], "features.5"),
        (try VisionTransformer(classCount: 5, inputChannels: 1, size: tinyViT, generator: g), [1, 16, 16],
         "encoder.layers.encoder_layer_1"),
        (try SwinTransformer(classCount: 5, inputChannels: 1, size: tinySwin, generator: g), [1, 14, 14], "features.3.1"),
    ]
    for (i, item) in models.enumerated() { try randomize(item.model, seed: UInt64(i)) }
    return models
}

/// Runs Benchmarks/reference/onnx_check.py: onnx.checker, then ONNX Runtime on `input`
/// against `expected`; returns its JSON report.
func checkInONNXRuntime(_ onnx: ONNXModel, input: Tensor, expected: Tensor) throws -> [String: Any] {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-onnx-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let modelURL = folder.appendingPathComponent("model.onnx")
    try onnx.write(to: modelURL)
    try Data(input.contiguous().bytes()).write(to: folder.appendingPathComponent("input.f32"))
    try Data(expected.contiguous().bytes()).write(to: folder.appendingPathComponent("expected.f32"))
    let script = ReferencePython.repositoryRoot.appendingPathComponent("Benchmarks/reference/onnx_check.py").path
    let result = try ReferencePython.run(ReferencePython.reference, [
        script, modelURL.path, folder.appendingPathComponent("input.f32").path,
        input.shape.map(String.init).joined(separator: ","), folder.appendingPathComponent("expected.f32").path,
    ])
    guard result.status == 0, let line = result.output.split(separator: "\n").last,
          let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        throw TorchError("onnx_check.py failed (\(result.status)): \(result.errors.suffix(2000))")
    }
    return json
}

@Suite struct ONNXExportTests {
    @Test(.enabled(if: ReferencePython.hasONNXRuntime, "needs onnx and onnxruntime in .venv-ref (scripts/setup-python)"))
    func onnxRuntimeGivesLacootsLogitsForEveryFamilyFullAndCollapsed() throws {
        for (model, sample, block) in try exportCases() {
            let collapsed = try Collapser.copy(of: model)
            try collapsed.collapse(block)
            for (variant, network) in [("full", model), ("without \(block)", collapsed)] {
                network.eval()
                let onnx = try ONNXExporter.export(network, sampleShape: sample)
                // a batch size the capture never saw: the batch dimension is dynamic
                let x = try Tensor.randn([5] + sample, generator: Generator(seed: 4))
                let expected = try withNoGrad { try network(x) }
                #expect(try expected.abs().amax().item() > 0.1, "\(model.architecture.label): logits near zero prove nothing")
                let report = try checkInONNXRuntime(onnx, input: x, expected: expected)
                let diff = try #require(report["max_abs_diff"] as? Double)
                let label = "\(model.architecture.label) \(variant)"
                #expect(report["checker"] as? String == "ok", "\(label)")
                #expect(report["output_shape"] as? [Int] == [5, 5], "\(label)")
                #expect(diff <= 1e-4, "\(label): ONNX Runtime differs from lacoot by \(diff)")
                #expect(report["input_shape"] as? [AnyHashable] == ["batch" as AnyHashable] + sample.map { $0 as AnyHashable })
            }
            let fullNodes = try ONNXExporter.export(model, sampleShape: sample).nodeCount
            let fewer = try ONNXExporter.export(collapsed, sampleShape: sample).nodeCount
            #expect(fewer < fullNodes, "\(model.architecture.label): removing \(block) removed no node")
        }
    }

    @Test(.enabled(if: ReferencePython.hasONNXRuntime, "needs onnx and onnxruntime in .venv-ref (scripts/setup-python)"))
    func aFixedBatchAndTheNewerOpsetsAlsoRun() throws {
        let (model, sample, _) = try exportCases()[4]   // the ViT: LayerNormalization, GELU, attention
        model.eval()
        for opset in [17, 20, 21] {
            let onnx = try ONNXExporter.export(model, sampleShape: sample, options: ONNXExportOptions(opset: opset, batch: .fixed(3)))
            let x = try Tensor.randn([3] + sample, generator: Generator(seed: 5))
            let report = try checkInONNXRuntime(onnx, input: x, expected: try withNoGrad { try model(x) })
            let diff = try #require(report["max_abs_diff"] as? Double)
            #expect(diff <= 1e-4, "opset \(opset): \(diff)")
            #expect(report["input_shape"] as? [Int] == [3] + sample)
        }
    }

    @Test(.enabled(if: ReferencePython.hasONNXRuntime, "needs onnx and onnxruntime in .venv-ref (scripts/setup-python)"))
    func float16ExportsRunCloseToFloat32() throws {
        for (model, sample, _) in try exportCases() {
            model.eval()
            let onnx = try ONNXExporter.export(model, sampleShape: sample, options: ONNXExportOptions(precision: .fp16))
            let x = try Tensor.randn([3] + sample, generator: Generator(seed: 6))
            let expected = try withNoGrad { try model(x) }
            let report = try checkInONNXRuntime(onnx, input: x, expected: expected)
            let diff = try #require(report["max_abs_diff"] as? Double)
            let scale = try expected.abs().amax().item()
            #expect(diff <= 2e-2 * max(1, scale), "\(model.architecture.label) fp16: \(diff) for logits up to \(scale)")
            #expect(diff > 0, "\(model.architecture.label): fp16 gave exactly fp32's logits — was it fp16?")
        }
    }

    @Test func batchNormIsFoldedAndRemovedBlocksAreAbsent() throws {
        let (model, sample, block) = try exportCases()[0]
        let collapsed = try Collapser.copy(of: model)
        try collapsed.collapse(block)
        let onnx = try ONNXExporter.export(collapsed, sampleShape: sample)
        #expect(onnx.operators["BatchNormalization"] == nil, "every BatchNorm follows a convolution: \(onnx.operators)")
        #expect(onnx.operators["Conv"] == 20 - 2, "ResNet-18 has 20 convolutions (17 3×3 and 3 shortcuts); one block of two removed")
        #expect(onnx.macs == (try CostModel.analyze(collapsed, input: sample).macs))
    }

    @Test func errorsNameTheOperationTheModuleAndTheOpset() throws {
        let (vit, sample, _) = try exportCases()[4]
        #expect(throws: ExportError.opsetTooOld(operation: "LayerNormalization", module: "encoder.layers.encoder_layer_0.ln_1",
                                                needed: 17, asked: 16)) {
            try ONNXExporter.export(vit, sampleShape: sample, options: ONNXExportOptions(opset: 16))
        }
        #expect(throws: ExportError.unsupportedOpset(asked: 9, supported: ONNXExportOptions.supportedOpsets)) {
            try ONNXExporter.export(vit, sampleShape: sample, options: ONNXExportOptions(opset: 9))
        }
        let sorting = Sequential([Sorting()])
        let error = #expect(throws: ExportError.self) { try ONNXExporter.export(sorting, sampleShape: [4]) }
        #expect(error?.description.contains("'sort' in module '0'") == true, "\(String(describing: error))")
    }
}

/// A layer whose operation ONNX export does not translate.
final class Sorting: Module {
    override func forward(_ x: Tensor) throws -> Tensor { try x.sort(dim: -1).values }
}
