import Foundation
import Testing
@testable import Models
import NN
import Optim
import Serialization
import Torch

@Suite struct ModelIOTests {
    @Test func savedModelsReloadWithIdenticalLogits() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let g = try Generator(seed: 1)
        let model = try ResNet(.resNet18, classCount: 4, inputChannels: 1, width: 4, generator: g)
        // Move the BN statistics away from their defaults first.
        _ = try model(Tensor.randn([4, 1, 16, 16], generator: g))
        model.eval()
        let x = try Tensor.randn([3, 1, 16, 16], generator: g)
        let url = dir.appendingPathComponent("model.safetensors")
        try ModelFile.save(model, to: url)
        let (loaded, manifest) = try ModelFile.load(from: url)
        #expect(loaded.architecture == model.architecture)
        #expect(manifest.format == "lacoot.model" && manifest.version == 1)
        #expect(manifest.parameters == model.parameterCount)
        #expect(try loaded(x).bytes() == model(x).bytes())

        // A collapsed model records its blocks and reloads identically.
        try model.collapse(["layer1.1", "layer3.1"])
        let collapsedURL = dir.appendingPathComponent("collapsed.safetensors")
        try ModelFile.save(model, to: collapsedURL, metadata: ["note": "two blocks removed"])
        #expect(try ModelFile.manifest(at: collapsedURL).removedBlocks == ["layer1.1", "layer3.1"])
        let reloaded = try ModelFile.load(from: collapsedURL).model
        #expect(reloaded.collapsedBlocks == ["layer1.1", "layer3.1"])
        #expect(try reloaded(x).bytes() == model(x).bytes())
        #expect(try Safetensors.readMetadata(contentsOf: collapsedURL)["note"] == "two blocks removed")
        // The uncollapsed file does not load into the collapsed model strictly: its keys are named.
        do {
            try reloaded.load(stateDict: Safetensors.read(contentsOf: url).tensors)
            Issue.record("strict load should fail")
        } catch let error as StateDictError {
            #expect(error.report.unexpected.contains("layer1.1.conv1.weight"))
            #expect(error.report.missing.isEmpty)
        }
        // A plain state-dict file has no manifest: a clear error.
        let plain = dir.appendingPathComponent("plain.safetensors")
        try Safetensors.write(model.stateDict(), to: plain)
        #expect(throws: ModelError.notAModelFile(path: plain.path)) { try ModelFile.load(from: plain) }
    }

    /// A small trained-looking collapsed ResNet-18, its input and its logits.
    private func collapsedModel() throws -> (ResNet, Tensor, [UInt8]) {
        let g = try Generator(seed: 5)
        let model = try ResNet(.resNet18, classCount: 3, inputChannels: 1, width: 4, generator: g)
        _ = try model(Tensor.randn([4, 1, 16, 16], generator: g))
        try model.collapse(["layer2.1", "layer4.1"])
        model.eval()
        let x = try Tensor.randn([2, 1, 16, 16], generator: g)
        return (model, x, try model(x).bytes())
    }

    /// The manifest the CLI wrote before the format was versioned (`CollapsedModel.save`
    /// before version 1): `"format": "lacoot.collapsed-model"`, no version, a JSON file next to
    /// the weights, and the same JSON under `lacoot_manifest` in the weights' metadata.
    private let cliManifestBeforeVersion1 = """
        {
          "architecture" : {
            "classCount" : 3,
            "inputChannels" : 1,
            "kind" : "resNet18",
            "shortcut" : "projection",
            "stem" : "cifar",
            "width" : 4
          },
          "class_count" : 3,
          "class_names" : [
            "a",
            "b",
            "c"
          ],
          "format" : "lacoot.collapsed-model",
          "input_shape" : [
            1,
            32,
            32
          ],
          "macs" : 430176,
          "normalization" : {
            "mean" : [
              0.5
            ],
            "std" : [
              0.25
            ]
          },
          "parameters" : 24575,
          "pytorch" : "build ResNet-18 (cifar stem, width 4, 3 classes), set layer2.1, layer4.1 to nn.Identity(), then load_state_dict(safetensors.torch.load_file('old.safetensors'))",
          "removed_blocks" : [
            "layer2.1",
            "layer4.1"
          ],
          "weights" : "old.safetensors"
        }
        """

    @Test func filesWrittenBeforeVersion1StillLoad() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, x, logits) = try collapsedModel()
        // The CLI's old pair of files.
        try Safetensors.write(model.stateDict(), metadata: ["lacoot_manifest": cliManifestBeforeVersion1],
                              to: dir.appendingPathComponent("old.safetensors"))
        let json = dir.appendingPathComponent("old.json")
        try Data(cliManifestBeforeVersion1.utf8).write(to: json)
        for url in [json, dir.appendingPathComponent("old.safetensors")] {
            let (loaded, manifest) = try ModelFile.load(from: url)
            #expect(manifest.format == "lacoot.collapsed-model" && manifest.version == 0)
            #expect(manifest.removedBlocks == ["layer2.1", "layer4.1"])
            #expect(manifest.classNames == ["a", "b", "c"])
            #expect(manifest.normalization == InputNormalization(mean: [0.5], std: [0.25]))
            #expect(manifest.inputShape == [1, 32, 32])
            // The fixture's figures are this model's (as the old writer recorded them).
            #expect(manifest.parameters == model.parameterCount)
            let macs = try model.cost().totalMACs
            #expect(manifest.macs == macs)
            #expect(try loaded(x).bytes() == logits)
        }
        // The first model files: a bare manifest (no format) under "lacoot.manifest".
        let bare = #"{"architecture":{"classCount":3,"inputChannels":1,"kind":"resNet18","shortcut":"projection","stem":"cifar","width":4},"collapsedBlocks":["layer2.1","layer4.1"]}"#
        let bareURL = dir.appendingPathComponent("bare.safetensors")
        try Safetensors.write(model.stateDict(), metadata: ["format": "pt", "lacoot.manifest": bare], to: bareURL)
        let (fromBare, bareManifest) = try ModelFile.load(from: bareURL)
        #expect(bareManifest.version == 0 && bareManifest.removedBlocks == ["layer2.1", "layer4.1"])
        #expect(try fromBare(x).bytes() == logits)
        // A newer version, another format, or weights of another model are refused by name.
        var future = try ModelManifest(describing: model)
        future.version = ModelManifest.currentVersion + 1
        let futureURL = dir.appendingPathComponent("future.json")
        try future.json().write(to: futureURL)
        #expect(throws: ModelError.unsupportedFormat(path: futureURL.path, format: "lacoot.model", version: 2)) {
            try ModelFile.load(from: futureURL)
        }
        var mismatched = try ModelManifest(describing: model)
        mismatched.removedBlocks = ["layer2.1"]
        mismatched.weights = "old.safetensors"
        let mismatchedURL = dir.appendingPathComponent("mismatched.json")
        try mismatched.json().write(to: mismatchedURL)
        do {
            _ = try ModelFile.load(from: mismatchedURL)
            Issue.record("weights without layer4.1 should not load into a model that has it")
        } catch let ModelError.weightsMismatch(path, detail) {
            #expect(path.hasSuffix("old.safetensors"))
            #expect(detail.contains("layer4.1.conv1.weight"))
        }
    }

    @Test func theManifestRoundTripsInTheCurrentForm() throws {
        let (model, _, _) = try collapsedModel()
        var manifest = try ModelManifest(describing: model)
        manifest.classNames = ["x", "y", "z"]
        manifest.normalization = InputNormalization(mean: [0.1], std: [0.2])
        manifest.weights = "m.safetensors"
        let text = String(decoding: try manifest.json(pretty: true), as: UTF8.self)
        #expect(text.contains(#""format" : "lacoot.model""#) && text.contains(#""version" : 1"#))
        #expect(text.contains(#""removed_blocks""#) && text.contains(#""class_count" : 3"#))
        #expect(try ModelManifest(json: Data(text.utf8), source: "test") == manifest)
        #expect(manifest.removedBlocks == ["layer2.1", "layer4.1"])
    }

    /// Trains `steps` steps of a small MobileNetV2 (dropout, BN, momentum, a schedule).
    private func train(_ model: any CollapsibleModel, _ sgd: SGD, _ scheduler: LRScheduler, data: Generator, steps: Int) throws {
        model.train()
        for _ in 0..<steps {
            let x = try Tensor.randn([4, 3, 8, 8], generator: data)
            let y = try Tensor.randint(low: 0, high: 3, shape: [4], generator: data)
            try sgd.zeroGrad()
            try Functional.crossEntropy(model(x), target: y).backward()
            try sgd.step()
            scheduler.step()
        }
    }

    @Test func trainingCheckpointResumesExactly() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func makeRun(seed: UInt64) throws -> (MobileNetV2, SGD, LRScheduler, Generator) {
            let model = try MobileNetV2(classCount: 3, widthMultiplier: 0.25, stem: .cifar, generator: Generator(seed: seed))
            let sgd = try SGD(lr: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true)
            sgd.attach(to: model)
            let scheduler = try LRScheduler(.multiStep(milestones: [3], gamma: 0.5), optimizer: sgd)
            return (model, sgd, scheduler, try Generator(seed: seed + 100))
        }
        // Straight run: 5 steps.
        let (m1, o1, s1, d1) = try makeRun(seed: 7)
        try train(m1, o1, s1, data: d1, steps: 5)

        // Interrupted run: 2 steps, checkpoint, a fresh process state restores and runs 3 more.
        let (m2, o2, s2, d2) = try makeRun(seed: 7)
        try train(m2, o2, s2, data: d2, steps: 2)
        let url = dir.appendingPathComponent("checkpoint.safetensors")
        try TrainingCheckpoint(model: m2, optimizer: o2, scheduler: s2, epoch: 2, generators: ["data": d2],
                               configuration: #"{"lambda": 5}"#).save(to: url)
        let (m3, o3, s3, d3) = try makeRun(seed: 99)
        let checkpoint = try TrainingCheckpoint.load(from: url)
        #expect(checkpoint.epoch == 2)
        #expect(checkpoint.configuration == #"{"lambda": 5}"#)
        #expect(checkpoint.generators.keys.sorted() == ["data", "model.classifier.0.generator"])
        try checkpoint.restore(model: m3, optimizer: o3, scheduler: s3, generators: ["data": d3])
        #expect(s3.position == 2)
        try train(m3, o3, s3, data: d3, steps: 3)

        #expect(o3.learningRate == o1.learningRate)
        for ((k1, t1), (k3, t3)) in zip(m1.stateDict(), m3.stateDict()) {
            #expect(k1 == k3)
            #expect(try t1.bytes() == t3.bytes(), "\(k1) differs after resuming")
        }
        // A model file is not a training checkpoint.
        let modelURL = dir.appendingPathComponent("model.safetensors")
        try ModelFile.save(m1, to: modelURL)
        #expect(throws: SafetensorsError.notACheckpoint(file: modelURL.path, format: "pt")) { try TrainingCheckpoint.load(from: modelURL) }
    }
}

/// A run's architecture as written (defaults left out, as the demo writes it) and the one the
/// built model reports compare equal once normalized; real differences are named.
@Suite struct ArchitectureComparisonTests {
    @Test func defaultsDoNotCount() throws {
        let written = ModelArchitecture(kind: .resNet18, classCount: 10, inputChannels: 1, stem: .cifar, width: 16)
        let built = try written.build().manifest.architecture
        #expect(written != built)   // the shortcut was filled in
        #expect(written.differences(from: built).isEmpty)
        let mobile = ModelArchitecture(kind: .mobileNetV2, classCount: 10, inputChannels: 3, stem: .cifar)
        #expect(mobile.differences(from: try mobile.build().manifest.architecture).isEmpty)
    }

    @Test func differencesAreNamed() throws {
        let a = ModelArchitecture(kind: .resNet18, classCount: 10, inputChannels: 1, stem: .cifar, width: 16)
        var b = a
        b.width = 8
        b.shortcut = .zeroPad
        #expect(a.differences(from: b) == ["width: 16 vs 8", "shortcut: projection vs zeroPad"])
    }
}
