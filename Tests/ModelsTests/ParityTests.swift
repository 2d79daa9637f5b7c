import Foundation
import Testing
import TestSupport
@testable import Models
import NN
import Serialization
import Torch

/// The repository root (this file is Tests/ModelsTests/ParityTests.swift).
private let repositoryRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

private let referencePython = ReferencePython.reference

/// Runs Benchmarks/reference/torchvision_parity.py into `dir`; false (recorded) when it fails.
private func exportReference(into dir: URL, fullSize: Bool = false) throws -> Bool {
    let process = Process()
    process.executableURL = referencePython
    process.arguments = [repositoryRoot.appendingPathComponent("Benchmarks/reference/torchvision_parity.py").path]
        + (fullSize ? ["--full-size"] : []) + [dir.path]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        Issue.record("torchvision_parity.py failed (\(process.terminationStatus)): \(text)")
        return false
    }
    return true
}

@Suite(.serialized) struct ParityTests {
    /// torchvision's resnet18, mobilenet_v2 and a tiny VisionTransformer (32×32, patch 8, 2
    /// layers of width 64, 2 heads, MLP 128) and the reference's CIFAR ResNet-18 (width 16, one
    /// channel): the same state-dict keys in the same order, the same seed gives the same initial
    /// weights draw for draw, and the weights PyTorch wrote (with BN statistics and the
    /// constant-initialized parameters randomized) give its logits.
    @Test(.enabled(if: ReferencePython.hasReference, ".venv-ref (Debian's PyTorch and torchvision) is missing: run scripts/setup"))
    func matchesPyTorchInitializationAndLogits() throws {
        let dir = try FileManager.default.temporaryDirectory.appendingPathComponent("parity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        guard try exportReference(into: dir) else { return }

        // Built in the script's order from one generator seeded like torch.manual_seed(0).
        let g = try Generator(seed: 0)
        let models: [(String, Module)] = [
            ("resnet18", try ResNet(.resNet18, classCount: 1000, stem: .imageNet, generator: g)),
            ("mobilenet_v2", try MobileNetV2(classCount: 1000, generator: g)),
            ("cifar_resnet18_w16", try ResNet(.resNet18, classCount: 10, inputChannels: 1, width: 16, generator: g)),
            ("vit_tiny", try VisionTransformer(
                classCount: 10, size: .init(imageSize: 32, patchSize: 8, layers: 2, heads: 2, hiddenDim: 64, mlpDim: 128),
                generator: g)),
            ("swin_attention_shifted", try ShiftedWindowAttention(dim: 16, window: (4, 4), shift: (2, 2), headCount: 2, generator: g)),
            ("swin_attention_one_window", try ShiftedWindowAttention(dim: 16, window: (4, 4), shift: (2, 2), headCount: 2,
                                                                     generator: g)),
            ("swin_tiny", try SwinTransformer(classCount: 10, size: .init(patchSize: 2, embedDim: 16, depths: [2, 2],
                                                                          heads: [2, 4], windowSize: 4, stochasticDepth: 0.2),
                                              generator: g)),
        ]
        for (name, model) in models {
            // Drawn with trunc_normal_ (inverse CDF: uniform, then erfinv): ViT's conv_proj, Swin's
            // bias tables and (in a whole Swin) every Linear weight.
            let swinLinears = model is SwinTransformer ? model.namedModules().filter { $0.module is Linear }.map { $0.name + ".weight" } : []
            let truncatedNormal = Set(["conv_proj.weight"] + swinLinears + model.namedParameters().map(\.name).filter {
                $0.hasSuffix("relative_position_bias_table")
            })
            let weights = try Safetensors.read(contentsOf: dir.appendingPathComponent("\(name).safetensors"))
            let io = try Safetensors.read(contentsOf: dir.appendingPathComponent("\(name)_io.safetensors"))

            // The same keys in PyTorch's order.
            let keyList = try #require(weights.metadata["state_dict_keys"], "\(name): no key list in the metadata")
            let keys = try JSONDecoder().decode([String].self, from: Data(keyList.utf8))
            #expect(model.stateDict().map(\.name) == keys, "\(name): state-dict keys or their order differ")

            // Initialization: every parameter the script did not randomize is equal.
            let randomizedList = try #require(weights.metadata["randomized"], "\(name): no randomized list")
            let randomized = Set(try JSONDecoder().decode([String].self, from: Data(randomizedList.utf8)))
            var compared = 0
            for (key, p) in model.namedParameters() where !randomized.contains(key) {
                let reference = try #require(weights[key], "\(name): \(key) missing from PyTorch's file")
                if truncatedNormal.contains(key) {
                    // The same uniform draws through erfinv, whose float32 rounding differs
                    // between PyTorch 1.13 (the reference here) and libtorch 2.13 by an ulp or so.
                    let diff = maxAbsDiff(try p.floats(), try reference.floats())
                    #expect(diff < 1e-6, "\(name): initial \(key) differs from PyTorch's by \(diff)")
                } else {
                    #expect(try p.bytes() == reference.bytes(), "\(name): initial \(key) differs from PyTorch's")
                }
                compared += 1
            }
            #expect(compared > 0)

            // Logits of PyTorch's weights.
            try model.load(stateDict: weights.tensors, strict: true)
            model.eval()
            let input = try #require(io["input"])
            let expected = try #require(io["logits"]).floats()
            let got = try withNoGrad { try model(input) }.floats()
            #expect(got.count == expected.count)
            let diff = maxAbsDiff(got, expected)
            let scale = expected.map { abs($0) }.max() ?? 0
            print("ParityTests: \(name) logits max |Δ| = \(diff) (max |logit| \(scale), relative \(diff / max(scale, 1e-30)))")
            // one fp32 forward: the error grows with the logits' size, so the bound scales with it
            #expect(diff < 1e-4 * max(1, scale), "\(name): max abs difference \(diff)")
            #expect(diff / max(scale, 1e-30) < 1e-4, "\(name): relative difference \(diff / scale)")
        }
    }

    /// torchvision's swin_t and vit_b_16 themselves (1000 classes, random weights with every
    /// norm, bias and constant table randomized) at 224×224 and 32×32: PyTorch's state dict
    /// loads strictly, parameters match in number, the logits agree within 1e-4, and again
    /// with blocks replaced by the identity on both sides.
    @Test(.enabled(if: ReferencePython.hasReference, ".venv-ref (Debian's PyTorch and torchvision) is missing: run scripts/setup"))
    func fullSizeSwinTAndViTB16MatchTorchvision() throws {
        let dir = try FileManager.default.temporaryDirectory.appendingPathComponent("parity-full-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        guard try exportReference(into: dir, fullSize: true) else { return }
        for size in [224, 32] {
            let models: [(String, any CollapsibleModel)] = [
                ("swin_t_\(size)", try SwinTransformer(classCount: 1000)),
                ("vit_b_16_\(size)", try VisionTransformer.vitB16(imageSize: size)),
            ]
            for (name, model) in models {
                let weights = try Safetensors.read(contentsOf: dir.appendingPathComponent("\(name).safetensors"))
                let io = try Safetensors.read(contentsOf: dir.appendingPathComponent("\(name)_io.safetensors"))
                let parameterCount = weights.tensors.filter { !$0.name.hasSuffix("relative_position_index") }
                    .map(\.tensor.elementCount).reduce(0, +)
                #expect(model.parameterCount == parameterCount, "\(name)")
                try model.load(stateDict: weights.tensors, strict: true)
                model.eval()
                let input = try #require(io["input"])
                for (key, removed) in [("logits", [String]()), ("logits_removed", try removedBlocks(io))] {
                    if !removed.isEmpty { try model.collapse(removed) }
                    let expected = try #require(io[key]).floats()
                    let got = try withNoGrad { try model(input) }.floats()
                    let diff = maxAbsDiff(got, expected)
                    let scale = expected.map { abs($0) }.max() ?? 0
                    print("ParityTests: \(name) \(key) max |Δ| = \(diff) (max |logit| \(scale))")
                    // 12 layers of K up to 3,072 in fp32, other kernels on each side: scaled with the logits
                    #expect(got.count == expected.count && diff <= 1e-4 * max(1, scale), "\(name) \(key): max |Δ| \(diff)")
                }
            }
        }
    }

    private func removedBlocks(_ io: SafetensorsFile) throws -> [String] {
        let list = try #require(io.metadata["removed"])
        return try JSONDecoder().decode([String].self, from: Data(list.utf8))
    }

    /// MACs (ptflops' aten convention: every matrix product and convolution, attention products
    /// included, on the padded windows as torchvision computes them) equal what PyTorch's own
    /// counter (torch.utils.flop_counter, FLOPs / 2) reports for torchvision's models, run by
    /// Benchmarks/reference/count_macs.py in the engine's environment.
    @Test(.enabled(if: ReferencePython.engineHasTorchvision, "no torchvision in .venv-torch: run scripts/setup"))
    func macsMatchPyTorchsFlopCounter() throws {
        let python = repositoryRoot.appendingPathComponent(".venv-torch/bin/python")
        let script = repositoryRoot.appendingPathComponent("Benchmarks/reference/count_macs.py")
        let process = Process()
        process.executableURL = python
        process.arguments = [script.path]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            Issue.record("count_macs.py failed: \(message)")
            return
        }
        let counted = try JSONDecoder().decode([String: Int].self, from: data)
        let ours: [(String, any CollapsibleModel, Int)] = [
            ("swin_t_224", try SwinTransformer(classCount: 1000), 224),
            ("swin_t_32", try SwinTransformer(classCount: 10), 32),
            ("swin_t_64", try SwinTransformer(classCount: 200), 64),
            ("vit_b_16_224", try VisionTransformer.vitB16(), 224),
            ("vit_small_32", try VisionTransformer(classCount: 10), 32),
        ]
        for (name, model, size) in ours {
            let theirs = try #require(counted[name], "\(name) missing from \(counted)")
            let mine = try model.cost(height: size).macs
            print("ParityTests: \(name) MACs ours \(mine), PyTorch's counter \(theirs)")
            #expect(mine == theirs, "\(name): \(mine) MACs, PyTorch counts \(theirs)")
        }
    }
}
