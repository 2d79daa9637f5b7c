import Costs
import Torch

// The layers of `torch.nn` that the model zoo needs, with PyTorch's parameter names, defaults
// and initialization, one file per kind (Convolution, Linear, Normalization, Activations,
// Pooling, Containers). Every layer also gives its analytic cost (see `CostModel`).

func pair(_ v: Int) -> (Int, Int) { (v, v) }

func convOutput(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, ceilMode: Bool = false) -> Int {
    let span = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceilMode {
        var out = (span + stride - 1) / stride + 1
        // PyTorch: the last window must start inside the input or left padding.
        if (out - 1) * stride >= size + padding { out -= 1 }
        return out
    }
    return span >= 0 ? span / stride + 1 : 0
}

func expectRank(_ shape: [Int], _ rank: Int, _ layer: String, _ path: String) throws {
    guard shape.count == rank else {
        throw ModuleError.inputShape(layer: layer, path: path, expected: "a \(rank)-D input", found: shape)
    }
}

// MARK: - Conv2d

/// 2-D convolution, `nn.Conv2d`: `weight` [out, in/groups, kh, kw] and optional `bias` [out].
/// Initialized as PyTorch does by default (kaiming-uniform a = √5, bias U(±1/√fan_in)).
public final class Conv2d: Module {
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: (Int, Int)
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let dilation: (Int, Int)
    public let groups: Int
    public let hasBias: Bool

    public var weight: Tensor { localParameters[0] }
    public var bias: Tensor? { hasBias ? localParameters[1] : nil }

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true,
                generator: Generator?) throws {
        guard inChannels > 0, outChannels > 0, groups > 0, inChannels % groups == 0, outChannels % groups == 0 else {
            throw ModuleError.invalidConfiguration(
                layer: "Conv2d", detail: "channels \(inChannels)→\(outChannels) must be positive multiples of groups \(groups)")
        }
        guard kernelSize.0 > 0, kernelSize.1 > 0, stride.0 > 0, stride.1 > 0, padding.0 >= 0, padding.1 >= 0 else {
            throw ModuleError.invalidConfiguration(
                layer: "Conv2d", detail: "invalid kernel \(kernelSize), stride \(stride) or padding \(padding)")
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.hasBias = bias
        super.init()
        let w = try Tensor.empty([outChannels, inChannels / groups, kernelSize.0, kernelSize.1])
        let b = bias ? try Tensor.empty([outChannels]) : nil
        try Init.pytorchDefault(weight: w, bias: b, generator: generator)
        try registerParameter("weight", w)
        if let b { try registerParameter("bias", b) }
    }

    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            dilation: Int = 1, groups: Int = 1, bias: Bool = true, generator: Generator?) throws {
        try self.init(inChannels, outChannels, kernelSize: pair(kernelSize), stride: pair(stride),
                      padding: pair(padding), dilation: pair(dilation), groups: groups, bias: bias,
                      generator: generator)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.conv2d(x, weight: localParameters[0], bias: hasBias ? localParameters[1] : nil, stride: stride,
                              padding: padding, dilation: dilation, groups: groups)
    }

    public override var extraDescription: String {
        "\(inChannels), \(outChannels), kernel=\(kernelSize), stride=\(stride), padding=\(padding)"
            + (groups != 1 ? ", groups=\(groups)" : "") + (hasBias ? "" : ", bias=false")
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        try expectRank(input, 4, "Conv2d", path)
        guard input[1] == inChannels else {
            throw ModuleError.inputShape(layer: "Conv2d", path: path, expected: "\(inChannels) input channels", found: input)
        }
        let h = convOutput(input[2], kernel: kernelSize.0, stride: stride.0, padding: padding.0, dilation: dilation.0)
        let w = convOutput(input[3], kernel: kernelSize.1, stride: stride.1, padding: padding.1, dilation: dilation.1)
        let output = [input[0], outChannels, h, w]
        let positions = input[0] * h * w
        var macs = positions * outChannels * (inChannels / groups) * kernelSize.0 * kernelSize.1
        if hasBias && context.convention == .ptflopsModules { macs += positions * outChannels }
        context.record(path: path, kind: "Conv2d", input: input, output: output,
                       parameters: localParameters.reduce(0) { $0 + $1.elementCount }, macs: macs)
        return output
    }
}
