import Foundation
import Testing
@testable import Models
import NN
import Optim
import Torch

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("models-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

@Suite struct ModelTests {
    @Test func parameterCountsMatchTorchvision() throws {
        let g = try Generator(seed: 0)
        let r18 = try ResNet(.resNet18, classCount: 1000, stem: .imageNet, generator: g)
        #expect(r18.parameterCount == 11_689_512)
        #expect(try ResNet(.resNet34, classCount: 1000, stem: .imageNet, generator: g).parameterCount == 21_797_672)
        let r50 = try ResNet(.resNet50, classCount: 1000, stem: .imageNet, generator: g)
        #expect(r50.parameterCount == 25_557_032)
        let mobile = try MobileNetV2(classCount: 1000, generator: g)
        #expect(mobile.parameterCount == 3_504_872)
        // Output shapes (small inputs keep this quick).
        r50.eval()
        mobile.eval()
        let x = try Tensor.randn([2, 3, 32, 32], generator: g)
        #expect(try withNoGrad { try r50(x) }.shape == [2, 1000])
        #expect(try withNoGrad { try mobile(x) }.shape == [2, 1000])
        // Keys as torchvision's.
        let keys = Set(r50.stateDict().map(\.name))
        for key in ["conv1.weight", "bn1.num_batches_tracked", "layer1.0.downsample.0.weight", "layer1.0.downsample.1.running_var",
                    "layer4.2.conv3.weight", "layer4.2.bn3.bias", "fc.weight", "fc.bias"] {
            #expect(keys.contains(key), "\(key)")
        }
        let mobileKeys = Set(mobile.stateDict().map(\.name))
        for key in ["features.0.0.weight", "features.0.1.running_mean", "features.1.conv.0.0.weight", "features.1.conv.1.weight",
                    "features.1.conv.2.bias", "features.2.conv.0.0.weight", "features.2.conv.1.0.weight",
                    "features.2.conv.2.weight", "features.2.conv.3.weight", "features.18.0.weight", "classifier.1.weight"] {
            #expect(mobileKeys.contains(key), "\(key)")
        }
    }

    @Test func resNet18CIFARMACsMatchTheReference() throws {
        let model = try ResNet(.resNet18, classCount: 10, inputChannels: 3, generator: Generator(seed: 0))
        let full = try model.cost()
        #expect(full.inputShape == [1, 3, 32, 32])
        #expect(full.outputShape == [1, 10])
        #expect(full.macs == 140_186_624)
        #expect(abs(full.megaMACs - 140.19) / 140.19 < 0.005)
        #expect(full.parameters == 11_173_962)
        let blocks = try model.collapsibleBlocks
        #expect(blocks.map(\.name) == ["layer1.1", "layer2.1", "layer3.1", "layer4.1"])
        #expect(blocks.map(\.index) == [0, 1, 2, 3])
        #expect(blocks.map(\.shape) == [[64, 16, 16], [128, 8, 8], [256, 4, 4], [512, 2, 2]])
        #expect(blocks.allSatisfy { $0.macs == 18_874_368 })
        try model.collapse(["layer1.1", "layer2.1", "layer3.1", "layer4.1"])
        let collapsed = try model.cost()
        #expect(collapsed.macs == 64_689_152)
        #expect(abs(collapsed.megaMACs - 64.69) / 64.69 < 0.005)
        #expect(try model.collapsibleBlocks.allSatisfy { $0.isCollapsed && $0.macs == 0 && $0.parameters == 0 })
        // The module-hook convention adds BN, ReLU and pooling.
        let modules = try ResNet(.resNet18, classCount: 10, generator: Generator(seed: 0)).cost(convention: .ptflopsModules)
        #expect(modules.macs == 140_186_624 + 10 + 661_504)
    }

    /// ptflops' published table (module backend, 224×224): resnet18 1.82, resnet34 3.68,
    /// resnet50 4.12 GMac; the aten backend gives torchvision's 1.81 G for resnet18.
    @Test func imageNetMACsMatchPtflopsTable() throws {
        let g = try Generator(seed: 0)
        for (depth, gmacs) in [(ResNet.Depth.resNet18, 1.82), (.resNet34, 3.68), (.resNet50, 4.12)] {
            let model = try ResNet(depth, classCount: 1000, stem: .imageNet, generator: g)
            let report = try model.cost(convention: .ptflopsModules)
            #expect(report.inputShape == [1, 3, 224, 224])
            #expect(abs(Double(report.macs) / 1e9 - gmacs) < 0.005, "\(depth): \(report.macs)")
        }
        let r18 = try ResNet(.resNet18, classCount: 1000, stem: .imageNet, generator: g).cost()
        #expect(r18.macs == 1_814_073_344)
    }

    @Test func collapsibleBlocksOfEveryModel() throws {
        let g = try Generator(seed: 0)
        #expect(try ResNet(.resNet34, classCount: 10, width: 4, generator: g).collapsibleBlockNames.count == 12)
        #expect(try ResNet(.resNet50, classCount: 10, width: 4, generator: g).collapsibleBlockNames
                == ["layer1.1", "layer1.2", "layer2.1", "layer2.2", "layer2.3", "layer3.1", "layer3.2", "layer3.3",
                    "layer3.4", "layer3.5", "layer4.1", "layer4.2"])
        let r20 = try ResNet(.resNet20, classCount: 10, generator: g)
        #expect(r20.collapsibleBlockNames == ["layer1.1", "layer1.2", "layer2.1", "layer2.2", "layer3.1", "layer3.2"])
        #expect(r20.parameterCount == 269_722, "He et al.'s 0.27 M with option-A shortcuts")
        #expect(try r20.collapsibleBlocks.map(\.shape) == [[16, 32, 32], [16, 32, 32], [32, 16, 16], [32, 16, 16], [64, 8, 8], [64, 8, 8]])
        #expect(try ResNet(.resNet56, classCount: 10, generator: g).collapsibleBlockNames.count == 24)
        let mobile = try MobileNetV2(classCount: 10, stem: .cifar, generator: g)
        #expect(mobile.collapsibleBlockNames == ["features.3", "features.5", "features.6", "features.8", "features.9",
                                                 "features.10", "features.12", "features.13", "features.15", "features.16"])
        #expect(try mobile.collapsibleBlocks.first?.shape == [24, 32, 32])
        let imagenet = try MobileNetV2(classCount: 10, generator: g)
        #expect(try imagenet.collapsibleBlocks(height: 64).first?.shape == [24, 16, 16])
    }

    @Test func observedForwardReportsBlocksInTheGraph() throws {
        let g = try Generator(seed: 1)
        let model = try ResNet(.resNet18, classCount: 5, inputChannels: 1, width: 4, generator: g)
        let x = try Tensor.randn([3, 1, 16, 16], generator: g)
        model.eval()
        var events: [BlockEvent] = []
        let logits = try model.forward(x) { events.append($0) }
        #expect(events.map(\.name) == ["layer1.1", "layer2.1", "layer3.1", "layer4.1"])
        #expect(events.map(\.index) == [0, 1, 2, 3])
        #expect(events.allSatisfy { $0.input.shape == $0.output.shape })
        #expect(events.map(\.input.shape) == [[3, 4, 8, 8], [3, 8, 4, 4], [3, 16, 2, 2], [3, 32, 1, 1]])
        #expect(try logits.floats() == model(x).floats())
        // A loss on the observed features reaches the block's weights, not the classifier.
        let loss = try (events[1].output - events[1].input).square().sum()
        try loss.backward()
        #expect(try model.namedParameters().first { $0.name == "layer2.1.conv1.weight" }!.tensor.grad != nil)
        #expect(try model.namedParameters().first { $0.name == "layer1.0.conv1.weight" }!.tensor.grad != nil)
        #expect(try model.namedParameters().first { $0.name == "fc.weight" }!.tensor.grad == nil)
        // Collapsed blocks are skipped and not reported.
        try model.collapse("layer3.1")
        var names: [String] = []
        _ = try model.forward(x) { names.append($0.name) }
        #expect(names == ["layer1.1", "layer2.1", "layer4.1"])
        // MobileNetV2 reports its residual blocks.
        let mobile = try MobileNetV2(classCount: 3, widthMultiplier: 0.25, stem: .cifar, generator: g)
        var mobileEvents: [String] = []
        _ = try mobile.forward(try Tensor.randn([2, 3, 8, 8], generator: g)) { mobileEvents.append($0.name) }
        #expect(mobileEvents == mobile.collapsibleBlockNames)
    }

    @Test func collapseReplacesWithIdentityAndKeepsOtherKeys() throws {
        let g = try Generator(seed: 2)
        let model = try ResNet(.resNet18, classCount: 4, inputChannels: 1, width: 4, generator: g)
        model.eval()
        let before = model.stateDict().map(\.name)
        try model.collapse("layer2.1")
        #expect(model.collapsedBlocks == ["layer2.1"])
        #expect(model.activeBlockNames == ["layer1.1", "layer3.1", "layer4.1"])
        #expect(model.stateDict().map(\.name) == before.filter { !$0.hasPrefix("layer2.1.") })
        #expect(model.module(at: "layer2.1") is Identity)
        #expect(throws: ModelError.alreadyCollapsed(block: "layer2.1")) { try model.collapse("layer2.1") }
        #expect(throws: ModelError.self) { try model.collapse("layer2.0") }
        #expect(throws: ModelError.self) { try model.collapse("nonsense") }
        #expect(throws: ModelError.self) { try model.collapse(["layer3.1", "layer9.9"]) }
        #expect(model.collapsedBlocks == ["layer2.1"], "a failed batch collapses nothing")
        #expect(model.manifest.removedBlocks == ["layer2.1"])
        // The collapsed forward is the network with layer2.1 skipped.
        let x = try Tensor.randn([2, 1, 16, 16], generator: g)
        func m(_ path: String) throws -> Module { try #require(model.module(at: path)) }
        var h = try m("maxpool")(m("relu")(m("bn1")(m("conv1")(x))))
        h = try m("layer4")(m("layer3")(m("layer2.0")(m("layer1")(h))))
        let manual = try m("fc")(m("avgpool")(h).flatten(from: 1))
        #expect(try model(x).floats() == manual.floats())
    }

    @Test func replacingABlockReachesForwardAndTheTypedProperties() throws {
        let g = try Generator(seed: 12)
        let model = try ResNet(.resNet18, classCount: 4, inputChannels: 1, width: 4, generator: g)
        model.eval()
        let x = try Tensor.randn([2, 1, 16, 16], generator: g)
        let y0 = try model(x).floats()
        let keys = model.stateDict().map(\.name)
        let block = try #require(model.stages[1].module[1] as? BasicBlock)
        let blockKeys = block.stateDict().map { "layer2.1." + $0.name }
        #expect(blockKeys.count == 12)   // conv1, conv2 weights; bn1, bn2: weight, bias and 3 buffers
        let old = try model.replace("layer2.1", with: Identity())
        #expect(old === block)
        #expect(model.stages[1].module[1] is Identity, "the stage property sees the replacement")
        #expect(model.stateDict().map(\.name) == keys.filter { !blockKeys.contains($0) }, "only that block's keys go")
        #expect(try model(x).floats() != y0)
        // The stage slots are typed Sequential, the blocks' convolutions Conv2d: other types are
        // rejected with the path, and nothing changes.
        #expect(throws: ModuleError.wrongChildType(path: "layer2", expected: "Sequential", found: "Identity")) {
            try model.replace("layer2", with: Identity())
        }
        #expect(throws: ModuleError.wrongChildType(path: "layer1.0.conv1", expected: "Conv2d", found: "Identity")) {
            try model.replace("layer1.0.conv1", with: Identity())
        }
        // A BN slot is Module-typed (BN folding replaces it) and the block's property sees it.
        let first = try #require(model.stages[0].module[0] as? BasicBlock)
        let y1 = try model(x).floats()
        try model.replace("layer1.0.bn1", with: Identity())
        #expect(first.bn1.module is Identity)
        #expect(try model(x).floats() != y1)
        // Putting the block back restores the first output exactly.
        try model.replace("layer2.1", with: block)
        try model.replace("layer1.0.bn1", with: BatchNorm2d(4))
        #expect(model.stateDict().map(\.name) == keys)
        #expect(try model(x).floats() == y0)
    }

    @Test func everyParameterReceivesAGradient() throws {
        let g = try Generator(seed: 3)
        let models: [any CollapsibleModel] = [
            try ResNet(.resNet18, classCount: 3, inputChannels: 2, width: 4, generator: g),
            try ResNet(.resNet50, classCount: 3, width: 2, stem: .imageNet, generator: g),
            try ResNet(.resNet20, classCount: 3, width: 4, generator: g),
            try ResNet(.resNet20, classCount: 3, width: 4, shortcut: .projection, generator: g),
            try MobileNetV2(classCount: 3, widthMultiplier: 0.25, stem: .cifar, generator: g),
            try tinyViT(classCount: 3, seed: 5),
        ]
        for model in models {
            let channels = model.architecture.inputChannels
            let x = try Tensor.randn([4, channels, 16, 16], generator: g)
            let y = try Tensor([0, 1, 2, 1] as [Int64], shape: [4])
            try Functional.crossEntropy(model(x), target: y).backward()
            for (name, p) in model.namedParameters() {
                let grad = try p.grad
                #expect(grad != nil, "\(model.architecture.kind) \(name) has no gradient")
                if let grad { #expect(try grad.abs().sum().item() > 0, "\(model.architecture.kind) \(name) gradient is zero") }
            }
        }
    }

    @Test func batchNormStatisticsMoveOnlyInTrainModeAndEvalIsDeterministic() throws {
        let g = try Generator(seed: 4)
        let model = try MobileNetV2(classCount: 3, widthMultiplier: 0.25, stem: .cifar, generator: g)
        let x = try Tensor.randn([4, 3, 8, 8], generator: g)
        let key = "features.3.conv.1.1.running_mean"
        func stat() throws -> [Float] { try model.stateDict().first { $0.name == key }!.tensor.floats() }
        let initial = try stat()
        _ = try model(x)
        let trained = try stat()
        #expect(trained != initial)
        model.eval()
        let a = try model(x).floats()
        let b = try model(x).floats()
        #expect(a == b)
        #expect(try stat() == trained)
        // Training-mode dropout draws from the model's own generator.
        model.train()
        #expect(model.namedGenerators().map(\.name) == ["classifier.0.generator"])
    }

    @Test func architectureRebuildsTheSameModel() throws {
        let model = try ResNet(.resNet18, classCount: 7, inputChannels: 1, width: 8, generator: Generator(seed: 5))
        let data = try JSONEncoder().encode(model.architecture)
        let arch = try JSONDecoder().decode(ModelArchitecture.self, from: data)
        #expect(arch == model.architecture)
        #expect(arch.width == 8 && arch.stem == .cifar && arch.shortcut == .projection)
        let rebuilt = try arch.build(generator: Generator(seed: 5))
        for ((k1, t1), (k2, t2)) in zip(model.stateDict(), rebuilt.stateDict()) {
            #expect(k1 == k2)
            #expect(try t1.bytes() == t2.bytes())
        }
        #expect(throws: ModelError.self) {
            try ModelArchitecture(kind: .mobileNetV2, classCount: 3, stem: .cifarNoMaxPool).build()
        }
        #expect(throws: ModelError.self) {
            try ModelArchitecture(kind: .resNet18, classCount: 3, stem: .cifar, dropout: 0.5).build()
        }
    }

    @Test func channelsLastGivesTheSameLogits() throws {
        let g = try Generator(seed: 6)
        let model = try ResNet(.resNet18, classCount: 3, inputChannels: 1, width: 4, generator: g)
        model.eval()
        let x = try Tensor.randn([2, 1, 16, 16], generator: g)
        let y = try model(x).floats()
        let sgd = try SGD(lr: 0.1, momentum: 0.9)
        sgd.attach(to: model)
        try model.setMemoryFormat(.channelsLast)
        #expect(model.namedParameters().filter { $0.tensor.rank == 4 }.allSatisfy { $0.tensor.isContiguous(.channelsLast) })
        #expect(maxAbsDiff(try model(x).floats(), y) < 1e-5)
        model.train()
        try Functional.crossEntropy(model(x), target: Tensor([0, 2] as [Int64], shape: [2])).backward()
        try sgd.step()
        let conv = try #require(model.module(at: "conv1") as? Conv2d)
        #expect(conv.weight.isContiguous(.channelsLast))
        #expect(try sgd.momentumBuffer(for: "conv1.weight")?.isContiguous(.channelsLast) == true)
    }
}
