import Data
import Foundation
@testable import LaCoOT
import LacootReport
import Models
import NN
import Testing
import Torch

@Suite struct CollapseTests {
    @Test func collapsingABlockWithAZeroResidualBranchKeepsTheLogits() throws {
        let model = try tinyModel()
        model.eval()
        // zero the last BatchNorm of layer2.1: its residual branch outputs 0, so the block is
        // relu(0 + x) = x on its (non-negative, post-ReLU) input
        for (name, t) in model.namedParameters() where name.hasPrefix("layer2.1.bn2.") { try t.zero_() }
        let x = try Tensor.randn([3, 1, 32, 32], generator: Generator(seed: 5))
        let before = try withNoGrad { try model(x).floats() }
        try model.collapse("layer2.1")
        let after = try withNoGrad { try model(x).floats() }
        #expect(before.count == after.count)
        #expect(zip(before, after).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) })
        // a block with a live branch does change them
        try model.collapse("layer3.1")
        let changed = try withNoGrad { try model(x).floats() }
        #expect(zip(after, changed).contains { abs($0 - $1) > 1e-4 })
    }

    @Test func removalOrdersArrangeBlocksAsDocumented() throws {
        let blocks = ["layer1.1", "layer2.1", "layer3.1", "layer4.1"]
        let distances = [BlockDistance(block: "layer1.1", distance: 0.3), BlockDistance(block: "layer2.1", distance: 0.1),
                         BlockDistance(block: "layer3.1", distance: 0.9), BlockDistance(block: "layer4.1", distance: 0.2)]
        #expect(try RemovalOrder.ranked.arrange(blocks, distances: distances) == ["layer2.1", "layer4.1", "layer1.1", "layer3.1"])
        #expect(try RemovalOrder.reverse.arrange(blocks, distances: distances) == ["layer3.1", "layer1.1", "layer4.1", "layer2.1"])
        #expect(try RemovalOrder.deepestFirst.arrange(blocks, distances: []) == blocks.reversed())
        let r1 = try RemovalOrder.random.arrange(blocks, distances: [], seed: 1)
        #expect(Set(r1) == Set(blocks))
        #expect(try RemovalOrder.random.arrange(blocks, distances: [], seed: 1) == r1)
        let others = try (2..<8).map { try RemovalOrder.random.arrange(blocks, distances: [], seed: UInt64($0)) }
        #expect(others.contains { $0 != r1 })
        #expect(throws: ModelError.self) { try RemovalOrder.ranked.arrange(blocks, distances: Array(distances.prefix(2))) }
    }

    @Test func policiesRemoveTheRightBlocks() throws {
        let data = try tinyData(count: 24)
        let distances = [BlockDistance(block: "layer1.1", distance: 0.3), BlockDistance(block: "layer2.1", distance: 0.1),
                         BlockDistance(block: "layer3.1", distance: 0.9), BlockDistance(block: "layer4.1", distance: 0.2)]
        func collapser() throws -> Collapser {
            let c = Collapser(model: try tinyModel(), normalization: tinyNormalization)
            c.measureLatency = false
            return c
        }
        let two = try collapser().collapse(policy: .remove(2), validation: data, distances: distances)
        #expect(two.removed == ["layer2.1", "layer4.1"])
        #expect(two.after.macs < two.before.macs)
        let c = try collapser()
        let named = try c.collapse(policy: .blocks(["layer3.1"]), validation: data, distances: distances)
        #expect(named.removed == ["layer3.1"])
        #expect(c.model.collapsedBlocks == ["layer3.1"])
        // an unlimited accuracy budget removes every block, in ranked order
        let all = try collapser().collapse(policy: .maxAccuracyDrop(100), validation: data, distances: distances)
        #expect(all.removed == ["layer2.1", "layer4.1", "layer1.1", "layer3.1"])
        let keptAll = all.validationTrace.allSatisfy { $0.kept }
        #expect(keptAll)
        #expect(throws: ModelError.self) { try collapser().collapse(policy: .remove(5), validation: data, distances: distances) }
    }

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
}

@Suite struct PyTorchLoadingTests {
    /// The repository root (this file is Tests/LaCoOTTests/CollapseTests.swift).
    var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    @Test func aCollapsedModelLoadsInPyTorchWithTheSameLogits() throws {
        let python = root.appendingPathComponent(".venv-ref/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            print("PyTorchLoadingTests: skipped, \(python.path) missing (run scripts/setup)")
            return
        }
        let model = try ResNet(.resNet18, classCount: 5, inputChannels: 1, width: 8, generator: Generator(seed: 11))
        try model.collapse(["layer2.1", "layer3.1"])
        model.eval()
        let folder = try temporaryFolder()
        let manifest = try CollapsedModel.save(model, normalization: tinyNormalization,
                                               to: folder.appendingPathComponent("collapsed.json"))
        let x = try Tensor.randn([3, 1, 32, 32], generator: Generator(seed: 12))
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
        #expect(process.terminationStatus == 0, "\(message)")
        let theirs = try #require(try Safetensors.read(contentsOf: output)["logits"]).floats()
        let ours = try withNoGrad { try model(x).floats() }
        #expect(theirs.count == ours.count)
        let worst = zip(theirs, ours).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-4, "max |Δ logit| = \(worst)")
    }
}
