import Costs
import NN
import Torch

/// torchvision's BasicBlock: conv3×3–BN–ReLU–conv3×3–BN, plus the identity or a shortcut, then
/// ReLU. Children, in torchvision's order: conv1, bn1, relu, conv2, bn2[, downsample].
public final class BasicBlock: Module, ResidualScaled {
    public static let expansion = 1
    public let inPlanes: Int
    public let planes: Int
    public let stride: Int

    public let conv1: Child<Conv2d>
    public let bn1: Child<Module>
    public let relu: Child<Module>
    public let conv2: Child<Conv2d>
    public let bn2: Child<Module>
    /// The projection or zero-padding shortcut of a block that changes shape.
    public let downsample: Child<Module>?
    public var residualScale = 1.0

    /// `shortcut` is built by the caller before the block (torchvision's order of random draws).
    init(inPlanes: Int, planes: Int, stride: Int, shortcut: Module?, generator: Generator) throws {
        self.inPlanes = inPlanes
        self.planes = planes
        self.stride = stride
        conv1 = Child("conv1", try Conv2d(inPlanes, planes, kernelSize: 3, stride: stride, padding: 1, bias: false,
                                          generator: generator))
        bn1 = Child("bn1", try BatchNorm2d(planes))
        relu = Child("relu", ReLU(inplace: true))
        conv2 = Child("conv2", try Conv2d(planes, planes, kernelSize: 3, stride: 1, padding: 1, bias: false,
                                          generator: generator))
        bn2 = Child("bn2", try BatchNorm2d(planes))
        downsample = shortcut.map { Child("downsample", $0) }
        super.init()
        try register(conv1, bn1, relu, conv2, bn2, downsample)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        let out = try bn2(conv2(relu(bn1(conv1(x))))).scaled(by: residualScale)
        let identity = if let downsample { try downsample(x) } else { x }
        return try relu(out + identity)
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        let h = try analyze([conv1, bn1, relu, conv2, bn2], input, path: path, context: &context)
        let identity = if let downsample { try analyze(downsample, input, path: path, context: &context) } else { input }
        guard identity == h else { throw ModelError.residualShape(block: path, residual: identity, main: h) }
        return try analyze(relu, h, path: path, context: &context)
    }
}

/// torchvision's Bottleneck (ResNet v1.5, stride on the 3×3): conv1×1–BN–ReLU–conv3×3–BN–ReLU–
/// conv1×1–BN, plus the identity or a shortcut, then ReLU. Children, in torchvision's order:
/// conv1, bn1, conv2, bn2, conv3, bn3, relu[, downsample].
public final class Bottleneck: Module, ResidualScaled {
    public static let expansion = 4
    public let inPlanes: Int
    public let planes: Int
    public let stride: Int

    public let conv1: Child<Conv2d>
    public let bn1: Child<Module>
    public let conv2: Child<Conv2d>
    public let bn2: Child<Module>
    public let conv3: Child<Conv2d>
    public let bn3: Child<Module>
    public let relu: Child<Module>
    public let downsample: Child<Module>?
    public var residualScale = 1.0

    init(inPlanes: Int, planes: Int, stride: Int, shortcut: Module?, generator: Generator) throws {
        self.inPlanes = inPlanes
        self.planes = planes
        self.stride = stride
        let width = planes
        conv1 = Child("conv1", try Conv2d(inPlanes, width, kernelSize: 1, bias: false, generator: generator))
        bn1 = Child("bn1", try BatchNorm2d(width))
        conv2 = Child("conv2", try Conv2d(width, width, kernelSize: 3, stride: stride, padding: 1, bias: false,
                                          generator: generator))
        bn2 = Child("bn2", try BatchNorm2d(width))
        conv3 = Child("conv3", try Conv2d(width, planes * Self.expansion, kernelSize: 1, bias: false,
                                          generator: generator))
        bn3 = Child("bn3", try BatchNorm2d(planes * Self.expansion))
        relu = Child("relu", ReLU(inplace: true))
        downsample = shortcut.map { Child("downsample", $0) }
        super.init()
        try register(conv1, bn1, conv2, bn2, conv3, bn3, relu, downsample)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        var out = try relu(bn1(conv1(x)))
        out = try relu(bn2(conv2(out)))
        out = try bn3(conv3(out)).scaled(by: residualScale)
        let identity = if let downsample { try downsample(x) } else { x }
        return try relu(out + identity)
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        let h = try analyze([conv1, bn1, relu, conv2, bn2, relu, conv3, bn3], input, path: path, context: &context)
        let identity = if let downsample { try analyze(downsample, input, path: path, context: &context) } else { input }
        guard identity == h else { throw ModelError.residualShape(block: path, residual: identity, main: h) }
        return try analyze(relu, h, path: path, context: &context)
    }
}

/// He et al.'s option-A shortcut: keeps every `stride`-th pixel and pads the channels with
/// zeros on both sides (no parameters).
public final class ZeroPadShortcut: Module {
    public let inChannels: Int
    public let outChannels: Int
    public let stride: Int

    public init(inChannels: Int, outChannels: Int, stride: Int) throws {
        guard outChannels >= inChannels, stride >= 1 else {
            throw ModuleError.invalidConfiguration(
                layer: "ZeroPadShortcut",
                detail: "cannot go from \(inChannels) to \(outChannels) channels with stride \(stride)")
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.stride = stride
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        // A 1×1 average pool with stride s is x[:, :, ::s, ::s].
        let sub = stride == 1 ? x : try Functional.avgPool2d(x, kernel: (1, 1), stride: (stride, stride))
        let extra = outChannels - inChannels
        guard extra > 0 else { return sub }
        return try sub.pad([0, 0, 0, 0, extra / 2, extra - extra / 2])
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        [input[0], outChannels, (input[2] - 1) / stride + 1, (input[3] - 1) / stride + 1]
    }
}
