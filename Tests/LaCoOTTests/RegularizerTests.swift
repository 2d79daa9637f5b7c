import Datasets
import Foundation
@testable import LaCoOT
import Models
import NN
import Testing
import Torch

@Suite struct RegularizerTests {
    @Test func penaltyIsLambdaTimesTheMeanBlockDistance() throws {
        let model = try tinyModel()
        let x = try Tensor.randn([6, 1, 32, 32], generator: Generator(seed: 1))
        var events: [BlockEvent] = []
        _ = try model.forward(x) { events.append($0) }
        #expect(events.map(\.name) == ["layer1.1", "layer2.1", "layer3.1", "layer4.1"])
        let distance = SlicedWasserstein(projectionCount: 10)
        let regularizer = try LaCoOTRegularizer(model: model, lambda: 5, distance: distance, seed: 9)
        let penalty = try regularizer.penalty(events, epoch: 0)
        // the same draws, by hand: one generator, blocks in forward order
        let g = try Generator(seed: 9)
        let manual = try events.map { try distance($0.input, $0.output, generator: g).distance.item() }
        #expect(penalty.distances.map(\.distance) == manual)
        let expected = 5 * manual.reduce(0, +) / 4
        #expect(abs(try penalty.loss.item() - expected) < 1e-5 * expected)
        // its gradient reaches the weights of the regularized blocks
        try penalty.loss.backward()
        let grad = try #require(try model.namedParameters().first { $0.name == "layer2.1.conv1.weight" }?.tensor.grad)
        #expect(try grad.abs().sum().item() > 0)
    }

    /// Channels-last features are flattened in memory order (H, W, C): the distance equals the
    /// NCHW one with the directions' rows permuted to match — the same estimator in law, a
    /// different draw for a given seed — and the gradients flow back in the right layout.
    @Test func channelsLastDistanceIsAPermutationOfTheNCHWOne() throws {
        let (c, h, w, k) = (3, 5, 4, 16)
        let x = try Tensor.randn([6, c, h, w], generator: Generator(seed: 41))
        let y = try Tensor.randn([6, c, h, w], generator: Generator(seed: 42)) * 1.5
        let distance = SlicedWasserstein(projectionCount: k)
        let xc = try x.contiguous(.channelsLast).requiresGrad(true), yc = try y.contiguous(.channelsLast)
        let channelsLast = try distance(xc, yc, generator: Generator(seed: 7))
        // the same directions, rows in (H, W, C) order, rearranged into (C, H, W) order
        let drawn = try SlicedWasserstein.randomDirections(dimension: c * h * w, count: k, generator: Generator(seed: 7))
        let permuted = try drawn.reshape([h, w, c, k]).permute([2, 0, 1, 3]).reshape([c * h * w, k])
        let xn = try x.clone().requiresGrad(true)
        let nchw = try distance(xn, y, directions: permuted)
        let a = try channelsLast.distance.item(), b = try nchw.distance.item()
        #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "\(a) vs \(b)")
        try channelsLast.distance.backward()
        try nchw.distance.backward()
        let ga = try #require(try xc.grad).contiguous().floats(), gb = try #require(try xn.grad).floats()
        #expect(zip(ga, gb).allSatisfy { abs($0 - $1) <= 1e-5 })
    }

    @Test func aSubsetOfBlocksAndARampedLambda() throws {
        let model = try tinyModel()
        let x = try Tensor.randn([4, 1, 32, 32], generator: Generator(seed: 2))
        var events: [BlockEvent] = []
        _ = try model.forward(x) { events.append($0) }
        let regularizer = try LaCoOTRegularizer(model: model, lambda: LambdaSchedule(lambda: 2, warmupEpochs: 4),
                                                blocks: ["layer3.1"], seed: 0)
        let early = try regularizer.penalty(events, epoch: 1)
        #expect(early.lambda == 0.5)
        #expect(early.distances.map(\.block) == ["layer3.1"])
        #expect(try regularizer.penalty(events, epoch: 10).lambda == 2)
        #expect(try regularizer.penalty(events, epoch: 0).loss.item() == 0)
        #expect(throws: ConfigurationError.unknownBlock(flag: "blocks", block: "layer9.1", collapsible: model.collapsibleBlockNames)) {
            try LaCoOTRegularizer(model: model, lambda: 1, blocks: ["layer9.1"])
        }
        // a bad λ is a configuration error naming the flag
        let badLambda = #expect(throws: ConfigurationError.self) { try LaCoOTRegularizer(model: model, lambda: -1) }
        #expect(badLambda?.flag == "lambda")
        #expect(badLambda?.description.hasPrefix("--lambda ") == true)
        #expect(throws: ConfigurationError.nothingSelected(flag: "blocks")) { try LaCoOTRegularizer(model: model, lambda: 1, blocks: []) }
    }

    /// A block whose output shape differs from its input's cannot be compared with the
    /// identity: the error names the block and both shapes.
    @Test func aShapeChangingBlockIsNamed() throws {
        let model = try tinyModel()
        let regularizer = try LaCoOTRegularizer(model: model, lambda: 1, blocks: ["layer2.1"])
        let event = BlockEvent(name: "layer2.1", index: 1, input: try Tensor.zeros([2, 4, 8, 8]), output: try Tensor.zeros([2, 8, 4, 4]))
        #expect(throws: CollapseError.blockChangesShape(block: "layer2.1", input: [2, 4, 8, 8], output: [2, 8, 4, 4])) {
            try regularizer.penalty([event], epoch: 0)
        }
    }

    @Test func scoringUsesTheTrueSizeOfTheLastBatch() throws {
        let model = try tinyModel()
        let data = try tinyData(count: 10)
        let distance = SlicedWasserstein(mode: .sliced, projectionCount: 6)
        let scores = try Evaluation.blockDistances(of: model, on: data, normalization: tinyNormalization,
                                                   distance: distance, seed: 4, batchSize: 4)
        // by hand: batches of 4, 4 and 2 samples, weighted by their sizes
        model.eval()
        let regularizer = try LaCoOTRegularizer(model: model, lambda: 0, distance: distance, seed: 4)
        let loader = try Loader.evaluation(dataset: data, batchSize: 4, normalization: tinyNormalization, prefetch: 0)
        var sums = [Double](repeating: 0, count: 4)
        var sizes: [Int] = []
        try withNoGrad {
            try loader.forEachBatch(epoch: 0) { batch in
                sizes.append(batch.count)
                var events: [BlockEvent] = []
                _ = try model.forward(batch.images) { events.append($0) }
                #expect(events[0].input.shape[0] == batch.count)
                for (i, e) in events.enumerated() { sums[i] += try regularizer.measure(e).item() * Double(batch.count) }
            }
        }
        #expect(sizes == [4, 4, 2])
        for (i, s) in scores.enumerated() { #expect(abs(s.distance - sums[i] / 10) < 1e-9) }
    }
}

@Suite struct EveryModelTests {
    /// The regularizer works on each family of the zoo: penalty on every active block, a
    /// gradient into the blocks, and collapsing leaves a model that still runs.
    @Test(arguments: ["resnet20", "resnet50", "mobilenetv2", "vit", "swin"])
    func regularizeAndCollapse(_ name: String) throws {
        let g = try Generator(seed: 0)
        let model: any CollapsibleModel
        switch name {
        case "resnet20": model = try ResNet(.resNet20, classCount: 3, inputChannels: 1, width: 4, generator: g)
        case "resnet50": model = try ResNet(.resNet50, classCount: 3, inputChannels: 1, width: 4, generator: g)
        case "vit":
            let size = ModelArchitecture.Transformer(imageSize: 32, patchSize: 8, layers: 2, heads: 2, hiddenDim: 16, mlpDim: 32)
            model = try VisionTransformer(classCount: 3, inputChannels: 1, size: size, generator: g)
        case "swin":
            let size = ModelArchitecture.Swin(patchSize: 4, embedDim: 8, depths: [2, 2], heads: [2, 2], windowSize: 4, stochasticDepth: 0.1)
            model = try SwinTransformer(classCount: 3, inputChannels: 1, size: size, generator: g)
        default: model = try MobileNetV2(classCount: 3, inputChannels: 1, widthMultiplier: 0.25, stem: .cifar, generator: g)
        }
        let x = try Tensor.randn([4, 1, 32, 32], generator: Generator(seed: 1))
        var events: [BlockEvent] = []
        _ = try model.forward(x) { events.append($0) }
        #expect(events.map(\.name) == model.collapsibleBlockNames)
        let penalty = try LaCoOTRegularizer(model: model, lambda: 2, distance: SlicedWasserstein(projectionCount: 5))
            .penalty(events, epoch: 0)
        #expect(penalty.distances.count == model.collapsibleBlockNames.count)
        try penalty.loss.backward()
        let block = model.collapsibleBlockNames[0]
        let grads = try model.namedParameters().filter { $0.name.hasPrefix(block + ".") }.compactMap { try $0.tensor.grad }
        #expect(!grads.isEmpty)
        let before = try model.cost().totalMACs
        try model.collapse(model.collapsibleBlockNames)
        #expect(try model.cost().totalMACs < before)
        #expect(try withNoGrad { try model(x) }.shape == [4, 3])
    }
}

@Suite struct FeatureTapTests {
    /// With the MLP-branch tap the distance compares each block's input with its branch (the
    /// same draws as measuring that pair by hand); a CNN refuses the tap, naming the flag.
    @Test func theMLPBranchTapMeasuresTheBranch() throws {
        let size = ModelArchitecture.Transformer(imageSize: 16, patchSize: 4, layers: 2, heads: 2, hiddenDim: 8, mlpDim: 16)
        let model = try VisionTransformer(classCount: 3, inputChannels: 1, size: size, generator: Generator(seed: 1))
        var events: [BlockEvent] = []
        _ = try model.forward(Tensor.randn([5, 1, 16, 16], generator: Generator(seed: 2))) { events.append($0) }
        let distance = SlicedWasserstein(projectionCount: 8)
        let branchTap = try LaCoOTRegularizer(model: model, lambda: 1, distance: distance, tap: .mlpBranch, seed: 3)
        let outputTap = try LaCoOTRegularizer(model: model, lambda: 1, distance: distance, seed: 3)
        let g = try Generator(seed: 3)
        let manual = try events.map { try distance($0.input, #require($0.branch), generator: g).distance.item() }
        let measured = try branchTap.penalty(events, epoch: 0).distances.map(\.distance)
        #expect(measured == manual)
        #expect(try outputTap.penalty(events, epoch: 0).distances.map(\.distance) != measured)
        let cnn = try tinyModel()
        let refused = #expect(throws: ConfigurationError.self) { try LaCoOTRegularizer(model: cnn, lambda: 1, tap: .mlpBranch) }
        #expect(refused?.flag == "tap")
        // an event without a branch (a model of another package) is named
        let bare = BlockEvent(name: "encoder.layers.encoder_layer_0", index: 0, input: events[0].input, output: events[0].output)
        #expect(throws: CollapseError.noFeatures(block: "encoder.layers.encoder_layer_0", tap: "mlp-branch")) {
            try branchTap.penalty([bare], epoch: 0)
        }
    }
}
