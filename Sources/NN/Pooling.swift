import Costs
import Torch

// MARK: - pooling

/// `nn.MaxPool2d`.
public final class MaxPool2d: Module {
    public let kernelSize: (Int, Int)
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let dilation: (Int, Int)
    public let ceilMode: Bool

    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1, ceilMode: Bool = false) {
        self.kernelSize = pair(kernelSize)
        self.stride = pair(stride ?? kernelSize)
        self.padding = pair(padding)
        self.dilation = pair(dilation)
        self.ceilMode = ceilMode
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.maxPool2d(x, kernel: kernelSize, stride: stride, padding: padding, dilation: dilation,
                                 ceilMode: ceilMode)
    }

    public override var extraDescription: String { "kernel=\(kernelSize), stride=\(stride), padding=\(padding)" }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        try expectRank(input, 4, "MaxPool2d", path)
        let output = [input[0], input[1],
                      convOutput(input[2], kernel: kernelSize.0, stride: stride.0, padding: padding.0, dilation: dilation.0, ceilMode: ceilMode),
                      convOutput(input[3], kernel: kernelSize.1, stride: stride.1, padding: padding.1, dilation: dilation.1, ceilMode: ceilMode)]
        let macs = context.convention == .ptflopsModules ? input.reduce(1, *) : 0
        context.record(path: path, kind: "MaxPool2d", input: input, output: output, parameters: 0, macs: macs)
        return output
    }
}

/// `nn.AvgPool2d`.
public final class AvgPool2d: Module {
    public let kernelSize: (Int, Int)
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let ceilMode: Bool
    public let countIncludePad: Bool

    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false,
                countIncludePad: Bool = true) {
        self.kernelSize = pair(kernelSize)
        self.stride = pair(stride ?? kernelSize)
        self.padding = pair(padding)
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.avgPool2d(x, kernel: kernelSize, stride: stride, padding: padding, ceilMode: ceilMode,
                                 countIncludePad: countIncludePad)
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        try expectRank(input, 4, "AvgPool2d", path)
        let output = [input[0], input[1],
                      convOutput(input[2], kernel: kernelSize.0, stride: stride.0, padding: padding.0, dilation: 1, ceilMode: ceilMode),
                      convOutput(input[3], kernel: kernelSize.1, stride: stride.1, padding: padding.1, dilation: 1, ceilMode: ceilMode)]
        let macs = context.convention == .ptflopsModules ? input.reduce(1, *) : 0
        context.record(path: path, kind: "AvgPool2d", input: input, output: output, parameters: 0, macs: macs)
        return output
    }
}

/// `nn.AdaptiveAvgPool2d`.
public final class AdaptiveAvgPool2d: Module {
    public let outputSize: (Int, Int)

    public init(outputSize: (Int, Int) = (1, 1)) {
        self.outputSize = outputSize
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.adaptiveAvgPool2d(x, outputSize: outputSize)
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        try expectRank(input, 4, "AdaptiveAvgPool2d", path)
        let output = [input[0], input[1], outputSize.0, outputSize.1]
        let macs = context.convention == .ptflopsModules ? input.reduce(1, *) : 0
        context.record(path: path, kind: "AdaptiveAvgPool2d", input: input, output: output, parameters: 0, macs: macs)
        return output
    }
}
