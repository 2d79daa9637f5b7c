import Foundation
import Models
import NN
import Testing
import TestSupport
import Torch

/// What Benchmarks/reference/lacoot_official_checkpoint.py printed: the labels and, per set of
/// removed blocks, the logits and accuracy of the official code's model.
private struct Reference: Decodable {
    struct Run: Decodable {
        let removed: [String]
        let logits: [[Float]]
        let accuracy: Double
    }
    let labels: [Int]
    let runs: [Run]
}

/// Checkpoints shaped as the official LaCoOT code writes them (its CIFAR ResNet-18 and CIFAR
/// MobileNetV2, torchvision's keys, the main.py checkpoint dict): `lacoot import` reads them,
/// and the imported model gives the reference model's logits (≤ 1e-4) and accuracy on the
/// same images normalized as their CIFAR-10 loader does, in full and with blocks removed.
@Suite(.serialized, .enabled(if: ReferencePython.hasEngine, ".venv-torch (PyTorch 2.13) is missing: run scripts/setup"))
struct OfficialCheckpointTests {
    @Test(arguments: [("resnet18", ["--width", "8"]), ("mobilenetv2", ["--cifar-stem"])])
    func importedModelGivesTheReferenceLogits(model: String, flags: [String]) throws {
        let dir = try temporaryFolder("lacoot-official")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = ReferencePython.repositoryRoot.appendingPathComponent("Benchmarks/reference/lacoot_official_checkpoint.py")
        let made = try ReferencePython.run(ReferencePython.engine, [script.path, model, dir.path, "--width", "8", "--count", "8"])
        try #require(made.status == 0, "\(made.errors)")
        let reference = try JSONDecoder().decode(Reference.self, from: Data(made.output.utf8))
        let run = dir.appendingPathComponent("run")
        let imported = try ReferencePython.run(try lacootExecutable(), ["import", dir.appendingPathComponent("checkpoint.pt").path,
                                                                         "--model", model, "--run-dir", run.path, "--quiet"] + flags)
        try #require(imported.status == 0, "\(imported.errors)")

        let count = reference.labels.count
        let pixels = try [UInt8](Data(contentsOf: dir.appendingPathComponent("images.u8")))
        try #require(pixels.count == count * 3 * 32 * 32)
        let modelFile = run.appendingPathComponent("imported.safetensors")
        let normalization = try #require(try ModelFile.manifest(at: modelFile).normalization)
        let plane = 32 * 32
        let values = pixels.enumerated().map { index, byte in
            let channel = index / plane % 3
            return (Float(byte) / 255 - normalization.mean[channel]) / normalization.std[channel]
        }
        let images = try Tensor(values, shape: [count, 3, 32, 32])
        for expected in reference.runs {
            let (network, _) = try ModelFile.load(from: modelFile)
            try network.collapse(expected.removed)
            network.eval()
            let logits = try withNoGrad { try network(images) }
            let got = try logits.floats()
            let want = expected.logits.flatMap { $0 }
            let worst = zip(got, want).map { abs($0 - $1) }.max() ?? .infinity
            #expect(got.count == want.count && worst <= 1e-4, "\(model) without \(expected.removed): max |Δ logit| = \(worst)")
            let predicted = try logits.argmax(dim: 1).values(as: Int64.self)
            let accuracy = 100 * Double(zip(predicted, reference.labels).filter { Int($0) == $1 }.count) / Double(count)
            #expect(accuracy == expected.accuracy, "\(model) without \(expected.removed): \(accuracy) % vs \(expected.accuracy) %")
        }
    }
}
