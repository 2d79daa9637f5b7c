import Costs
import Foundation
import Testing
@testable import Models
import NN
import Torch

/// The graph capture of a real forward pass: it records every product the model computes, so
/// its MAC count equals the hand-written cost model's for every family, full and collapsed
/// (a drift between a `forward` and its `analyze` fails here).
@Suite struct GraphCaptureTests {
    /// Every family, with a block to collapse: the residual-scale suite's models plus the CIFAR
    /// ResNet and the ImageNet stem (max pooling).
    func cases() throws -> [(model: any CollapsibleModel, input: [Int], block: String)] {
        let g = try Generator(seed: 5)
        return try ResidualScaleTests().cases() + [
            (try ModelArchitecture(kind: .resNet20, classCount: 3, inputChannels: 1, stem: .cifar).build(generator: g),
             [2, 1, 16, 16], "layer2.1"),
            (try ModelArchitecture(kind: .resNet34, classCount: 3, inputChannels: 3, stem: .imageNet, width: 4).build(generator: g),
             [2, 3, 40, 40], "layer3.2"),
        ]
    }

    @Test func capturedMACsEqualTheCostModelFullAndCollapsed() throws {
        for (model, shape, block) in try cases() {
            model.eval()
            let sample = Array(shape.dropFirst())
            let x = try Tensor.randn([1] + sample, generator: Generator(seed: 2))
            let (output, capture) = try model.capture(x)
            let expected = try CostModel.analyze(model, input: sample).macs
            #expect(capture.macs == expected, "\(model.architecture.label): captured \(capture.macs) MACs, cost model \(expected)")
            #expect(try (output - model(x)).abs().amax().item() == 0, "\(model.architecture.label): the captured pass changed the output")

            let collapsed = try ResidualScaleTests.copy(model)
            try collapsed.collapse(block)
            collapsed.eval()
            let smaller = try collapsed.capture(x).capture.macs
            let expectedSmaller = try CostModel.analyze(collapsed, input: sample).macs
            #expect(smaller == expectedSmaller, "\(model.architecture.label) without \(block): \(smaller) vs \(expectedSmaller)")
            #expect(smaller < capture.macs, "\(model.architecture.label): collapsing \(block) removed no product")
        }
    }

    @Test func nodesCarryTheirModulePathAndTheirInputs() throws {
        let model = try ModelArchitecture(kind: .resNet18, classCount: 3, inputChannels: 1, stem: .cifar, width: 4).build()
        model.eval()
        let x = try Tensor.randn([2, 1, 8, 8], generator: Generator(seed: 1))
        let (_, capture) = try model.capture(x)
        let convolutions = capture.nodes.filter { if case .conv2d = $0.operation { true } else { false } }
        #expect(convolutions.first?.scope == "conv1")
        #expect(convolutions.first?.inputs.first.map { $0 === x } == true, "the first convolution reads the input tensor")
        let weights = Set(model.namedParameters().filter { $0.name.hasSuffix("conv1.weight") }.map { ObjectIdentifier($0.tensor) })
        let read = Set(convolutions.compactMap { $0.inputs[1] }.map(ObjectIdentifier.init))
        #expect(weights.isSubset(of: read), "every conv1 weight is a recorded input")
        #expect(capture.nodes.contains { $0.scope == "layer4.1.conv2" })
    }

    @Test func nothingIsRecordedOutsideACaptureAndCapturesDoNotNest() throws {
        #expect(GraphCapture.current == nil)
        let x = try Tensor.randn([3], generator: Generator(seed: 1))
        let (_, capture) = try GraphCapture.record { try x.relu() + 1 }
        #expect(capture.nodes.map(\.operation) == [.unary(.relu), .binaryScalar(.add, 1)])
        _ = try x.relu()
        #expect(capture.nodes.count == 2 && GraphCapture.current == nil)
        #expect(throws: TorchError.self) { try GraphCapture.record { try GraphCapture.record { 0 } } }
    }
}
