import Torch

/// Folding an evaluation-mode BatchNorm into the convolution before it:
/// W' = W · γ/√(σ² + ε) per output channel, b' = (b − μ) · γ/√(σ² + ε) + β.
/// Exact up to rounding (computed in float64, stored in the weight's dtype); it saves a pass
/// over every activation at inference (PyTorch's `fuse_conv_bn_eval`, ONNX Runtime's fusion).
public enum BatchNormFolding {
    /// The folded convolution weight and bias. `gamma` and `beta` nil mean 1 and 0, `bias` nil 0.
    public static func fold(weight: Tensor, bias: Tensor?, gamma: Tensor?, beta: Tensor?, mean: Tensor,
                            variance: Tensor, eps: Double) throws -> (weight: Tensor, bias: Tensor) {
        try withNoGrad {
            let channels = weight.shape[0]
            func double(_ t: Tensor?, default value: Double) throws -> Tensor {
                try t.map { try $0.detach().to(.float64) } ?? Tensor.full([channels], value, dtype: .float64)
            }
            let scale = try double(gamma, default: 1) / (variance.detach().to(.float64) + eps).sqrt()
            let w = try weight.detach().to(.float64) * scale.reshape([channels] + Array(repeating: 1, count: weight.rank - 1))
            let b = try (double(bias, default: 0) - mean.detach().to(.float64)) * scale + double(beta, default: 0)
            return (try w.to(weight.dtype).contiguous(), try b.to(weight.dtype))
        }
    }
}

extension Module {
    /// Folds every BatchNorm2d that normalizes a Conv2d's output, and nothing else reads that
    /// output, into the convolution, and puts an ``Identity`` in the norm's place. The model
    /// computes the same function (up to rounding) with one pass over each such activation
    /// fewer. The pairs are found from a captured forward pass on `sampleInput` (any batch
    /// size); the model must be in evaluation mode, and is meant for inference from then on:
    /// its state dict no longer has the norms. Returns the paths of the folded norms.
    @discardableResult
    public final func foldBatchNorms(sampleInput: Tensor) throws -> [String] {
        guard !isTraining else {
            throw ModuleError.invalidConfiguration(layer: typeName, detail: "BatchNorm folding needs evaluation mode (call eval() first)")
        }
        let (_, capture) = try withNoGrad { try self.capture(sampleInput) }
        let nodes = capture.nodes, readers = capture.readers
        var calls: [String: Int] = [:]
        for node in nodes { calls[node.scope, default: 0] += 1 }
        // a convolution and its norm each called once, the norm the only reader of the
        // convolution's output, with running statistics, in a slot that takes an Identity
        var pairs: [(convPath: String, conv: Conv2d, normPath: String, norm: BatchNorm2d, mean: Tensor, variance: Tensor)] = []
        for node in nodes {
            guard case .conv2d = node.operation, calls[node.scope] == 1, let conv = module(at: node.scope) as? Conv2d,
                  let reading = readers[ObjectIdentifier(node.outputs[0])], reading.count == 1 else { continue }
            let normNode = nodes[reading[0]]
            guard case .batchNorm(training: false, _) = normNode.operation, calls[normNode.scope] == 1,
                  let norm = module(at: normNode.scope) as? BatchNorm2d, let mean = norm.runningMean, let variance = norm.runningVar,
                  slot(at: normNode.scope)?.slot.accepts(Identity()) == true else { continue }
            pairs.append((node.scope, conv, normNode.scope, norm, mean, variance))
        }
        let seed = try Generator(seed: 0)  // the replacements' throwaway initial values; the global RNG is untouched
        for (convPath, conv, normPath, norm, mean, variance) in pairs {
            let parameters = try BatchNormFolding.fold(weight: conv.weight, bias: conv.bias, gamma: norm.weight, beta: norm.bias,
                                                       mean: mean, variance: variance, eps: norm.eps)
            let replacement = try Conv2d(conv.inChannels, conv.outChannels, kernelSize: conv.kernelSize, stride: conv.stride,
                                         padding: conv.padding, dilation: conv.dilation, groups: conv.groups, bias: true,
                                         generator: seed)
            try replacement.setLocalParameter(at: 0, parameters.weight.requiresGrad(false))
            try replacement.setLocalParameter(at: 1, parameters.bias.requiresGrad(false))
            try replacement.to(conv.weight.device)
            _ = try replace(normPath, with: Identity())
            _ = try replace(convPath, with: replacement)
        }
        return pairs.map(\.normPath)
    }
}
