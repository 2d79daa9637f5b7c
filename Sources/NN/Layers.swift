import Torch

// The layers of `torch.nn` that the model zoo needs, with PyTorch's parameter names, defaults
// and initialization. Every layer also gives its analytic cost (see `CostModel`).

func pair(_ v: Int) -> (Int, Int) { (v, v) }

private func convOutput(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, ceilMode: Bool = false) -> Int {
    let span = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceilMode {
        var out = (span + stride - 1) / stride + 1
        // PyTorch: the last window must start inside the input or left padding.
        if (out - 1) * stride >= size + padding { out -= 1 }
        return out
    }
    return span >= 0 ? span / stride + 1 : 0
}

private func expectRank(_ shape: [Int], _ rank: Int, _ layer: String, _ path: String) throws {
    guard shape.count == rank else {
        throw NNError("\(layer) at \"\(path)\" expects a \(rank)-D input, got shape \(shape)")
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
            throw NNError("Conv2d: channels \(inChannels)→\(outChannels) must be positive multiples of groups \(groups)")
        }
        guard kernelSize.0 > 0, kernelSize.1 > 0, stride.0 > 0, stride.1 > 0, padding.0 >= 0, padding.1 >= 0 else {
            throw NNError("Conv2d: invalid kernel \(kernelSize), stride \(stride) or padding \(padding)")
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
            throw NNError("Conv2d at \"\(path)\" expects \(inChannels) input channels, got shape \(input)")
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

// MARK: - Linear

/// `nn.Linear`: y = x Wᵀ + b with `weight` [out, in], `bias` [out]; PyTorch's default init.
public final class Linear: Module {
    public let inFeatures: Int
    public let outFeatures: Int
    public let hasBias: Bool
    public var weight: Tensor { localParameters[0] }
    public var bias: Tensor? { hasBias ? localParameters[1] : nil }

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: Generator?) throws {
        guard inFeatures > 0, outFeatures > 0 else {
            throw NNError("Linear: features must be positive, got \(inFeatures)→\(outFeatures)")
        }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.hasBias = bias
        super.init()
        let w = try Tensor.empty([outFeatures, inFeatures])
        let b = bias ? try Tensor.empty([outFeatures]) : nil
        try Init.pytorchDefault(weight: w, bias: b, generator: generator)
        try registerParameter("weight", w)
        if let b { try registerParameter("bias", b) }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.linear(x, weight: localParameters[0], bias: hasBias ? localParameters[1] : nil)
    }

    public override var extraDescription: String { "\(inFeatures), \(outFeatures)" + (hasBias ? "" : ", bias=false") }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        guard let last = input.last, last == inFeatures else {
            throw NNError("Linear at \"\(path)\" expects \(inFeatures) input features, got shape \(input)")
        }
        let output = input.dropLast() + [outFeatures]
        var macs = input.reduce(1, *) * outFeatures
        if hasBias && context.convention == .ptflopsModules { macs += outFeatures }
        context.record(path: path, kind: "Linear", input: input, output: Array(output),
                       parameters: localParameters.reduce(0) { $0 + $1.elementCount }, macs: macs)
        return Array(output)
    }
}

// MARK: - BatchNorm2d

/// `nn.BatchNorm2d`: parameters `weight` (1) and `bias` (0), buffers `running_mean`,
/// `running_var` and `num_batches_tracked` (int64). In training mode the batch statistics
/// normalize and the running ones move by `momentum` (nil: cumulative average); in evaluation
/// mode the running ones are used.
public final class BatchNorm2d: Module {
    public let featureCount: Int
    public let eps: Double
    public let momentum: Double?
    public let affine: Bool
    public let tracksRunningStats: Bool
    private let one: Tensor

    public var weight: Tensor? { affine ? localParameters[0] : nil }
    public var bias: Tensor? { affine ? localParameters[1] : nil }
    public var runningMean: Tensor? { tracksRunningStats ? localBuffers[0] : nil }
    public var runningVar: Tensor? { tracksRunningStats ? localBuffers[1] : nil }
    public var batchesTracked: Tensor? { tracksRunningStats ? localBuffers[2] : nil }

    public init(_ featureCount: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true) throws {
        guard featureCount > 0 else { throw NNError("BatchNorm2d: feature count must be positive, got \(featureCount)") }
        self.featureCount = featureCount
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.tracksRunningStats = trackRunningStats
        self.one = try Tensor.ones([], dtype: .int64)
        super.init()
        if affine {
            try registerParameter("weight", Tensor.ones([featureCount]))
            try registerParameter("bias", Tensor.zeros([featureCount]))
        }
        if trackRunningStats {
            try registerBuffer("running_mean", Tensor.zeros([featureCount]))
            try registerBuffer("running_var", Tensor.ones([featureCount]))
            try registerBuffer("num_batches_tracked", Tensor.zeros([], dtype: .int64))
        }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        var factor = momentum ?? 0
        if isTraining && tracksRunningStats {
            let counter = localBuffers[2]
            try counter.copy_(counter + one)
            if momentum == nil { factor = 1 / (try counter.item()) }
        }
        let useBatchStats = isTraining || !tracksRunningStats
        let w = affine ? localParameters[0] : nil
        let b = affine ? localParameters[1] : nil
        let rm = tracksRunningStats ? localBuffers[0] : nil
        let rv = tracksRunningStats ? localBuffers[1] : nil
        return try Functional.batchNorm(x, weight: w, bias: b, runningMean: rm, runningVar: rv,
                                        training: useBatchStats, momentum: factor, eps: eps)
    }

    public override var extraDescription: String { "\(featureCount), eps=\(eps), momentum=\(momentum.map { "\($0)" } ?? "None")" }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        try expectRank(input, 4, "BatchNorm2d", path)
        guard input[1] == featureCount else {
            throw NNError("BatchNorm2d at \"\(path)\" expects \(featureCount) channels, got shape \(input)")
        }
        let macs = context.convention == .ptflopsModules ? input.reduce(1, *) * (affine ? 2 : 1) : 0
        context.record(path: path, kind: "BatchNorm2d", input: input, output: input,
                       parameters: localParameters.reduce(0) { $0 + $1.elementCount }, macs: macs)
        return input
    }
}

// MARK: - LayerNorm

/// `nn.LayerNorm` over the last dimensions given by `normalizedShape`.
public final class LayerNorm: Module {
    public let normalizedShape: [Int]
    public let eps: Double
    public let affine: Bool

    public init(_ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true) throws {
        guard !normalizedShape.isEmpty, normalizedShape.allSatisfy({ $0 > 0 }) else {
            throw NNError("LayerNorm: invalid normalized shape \(normalizedShape)")
        }
        self.normalizedShape = normalizedShape
        self.eps = eps
        self.affine = elementwiseAffine
        super.init()
        if elementwiseAffine {
            try registerParameter("weight", Tensor.ones(normalizedShape))
            try registerParameter("bias", Tensor.zeros(normalizedShape))
        }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.layerNorm(x, normalizedShape: normalizedShape, weight: affine ? localParameters[0] : nil,
                                 bias: affine ? localParameters[1] : nil, eps: eps)
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        guard input.count >= normalizedShape.count, Array(input.suffix(normalizedShape.count)) == normalizedShape else {
            throw NNError("LayerNorm at \"\(path)\" normalizes \(normalizedShape), got shape \(input)")
        }
        let macs = context.convention == .ptflopsModules ? input.reduce(1, *) * (affine ? 2 : 1) : 0
        context.record(path: path, kind: "LayerNorm", input: input, output: input,
                       parameters: localParameters.reduce(0) { $0 + $1.elementCount }, macs: macs)
        return input
    }
}

// MARK: - activations

/// Element-wise activations; ptflops counts one MAC per output element in its module backend.
public class Activation: Module {
    fileprivate func recordElementwise(_ input: [Int], path: String, context: inout CostContext) -> [Int] {
        let macs = context.convention == .ptflopsModules ? input.reduce(1, *) : 0
        context.record(path: path, kind: typeName, input: input, output: input, parameters: 0, macs: macs)
        return input
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        recordElementwise(input, path: path, context: &context)
    }
}

public final class ReLU: Activation {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) throws -> Tensor { try x.relu() }
}

public final class ReLU6: Activation {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) throws -> Tensor { try x.relu6() }
}

public final class GELU: Activation {
    public let tanhApproximation: Bool
    public init(tanhApproximation: Bool = false) {
        self.tanhApproximation = tanhApproximation
        super.init()
    }
    public override func forward(_ x: Tensor) throws -> Tensor { try x.gelu(tanhApproximation: tanhApproximation) }
}

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

// MARK: - structure

/// `nn.Dropout`: in training mode zeroes with probability `p` and scales by 1/(1-p), with masks
/// from its own `generator` (saved in training checkpoints); identity in evaluation mode.
public final class Dropout: Module {
    public let p: Double
    public var generator: Generator?

    public init(p: Double = 0.5, generator: Generator?) throws {
        guard p >= 0, p <= 1 else { throw NNError("Dropout: probability must be in [0, 1], got \(p)") }
        self.p = p
        self.generator = generator
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        guard isTraining, p > 0 else { return x }
        return try Functional.dropout(x, p: p, training: true, generator: generator)
    }

    public override var localGenerators: [(name: String, generator: Generator)] {
        generator.map { [("generator", $0)] } ?? []
    }

    public override var extraDescription: String { "p=\(p)" }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        context.record(path: path, kind: "Dropout", input: input, output: input, parameters: 0, macs: 0)
        return input
    }
}

/// `nn.Flatten` (dims `startDim` … `endDim`).
public final class Flatten: Module {
    public let startDim: Int
    public let endDim: Int

    public init(startDim: Int = 1, endDim: Int = -1) {
        self.startDim = startDim
        self.endDim = endDim
        super.init()
    }

    public override func forward(_ x: Tensor) throws -> Tensor { try x.flatten(from: startDim, to: endDim) }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        let s = startDim < 0 ? input.count + startDim : startDim
        let e = endDim < 0 ? input.count + endDim : endDim
        guard s >= 0, e < input.count, s <= e else {
            throw NNError("Flatten at \"\(path)\": dims \(startDim)…\(endDim) out of range for shape \(input)")
        }
        return Array(input[..<s]) + [input[s...e].reduce(1, *)] + Array(input[(e + 1)...])
    }
}

/// The identity; what a collapsed block becomes.
public final class Identity: Module {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) throws -> Tensor { x }
    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] { input }
}

/// `nn.Sequential`: children named "0", "1", … run in order.
public final class Sequential: Module {
    public init(_ modules: [Module]) {
        super.init()
        for m in modules { appendIndexedChild(m) }
    }

    public convenience init(_ modules: Module...) { self.init(modules) }

    /// Appends a module under the next index.
    public func append(_ module: Module) { appendIndexedChild(module) }

    public var count: Int { children.count }

    public subscript(index: Int) -> Module { children[index] }

    public override func forward(_ x: Tensor) throws -> Tensor {
        var h = x
        for child in children { h = try child.forward(h) }
        return h
    }
}
