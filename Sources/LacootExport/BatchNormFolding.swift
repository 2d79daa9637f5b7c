import Torch

/// Folds an evaluation-mode BatchNorm into the convolution before it:
/// W' = W · γ/√(σ² + ε) per output channel, b' = (b − μ) · γ/√(σ² + ε) + β, computed in
/// float64. Exact up to rounding; applied only where the convolution's output feeds nothing
/// but the BatchNorm, and the BatchNorm's statistics and affine parameters are constants.
enum BatchNormFolding {
    struct Folded {
        let weight: Tensor
        let bias: Tensor
    }

    /// The BatchNorm node folded into convolution node `index`, and the new weight and bias;
    /// nil when the pattern does not apply.
    static func fold(convolution index: Int, in translator: CaptureTranslator) throws -> (Int, Folded)? {
        let conv = translator.nodes[index]
        let output = conv.outputs[0]
        guard let readers = translator.readers[ObjectIdentifier(output)], readers.count == 1 else { return nil }
        let normIndex = readers[0]
        let norm = translator.nodes[normIndex]
        guard case .batchNorm(training: false, let eps) = norm.operation, norm.inputs[0] === output,
              let mean = norm.inputs[3], let variance = norm.inputs[4] else { return nil }
        let statistics = norm.inputs.dropFirst().compactMap { $0 }
        guard statistics.allSatisfy({ translator.names[ObjectIdentifier($0)] == nil }) else { return nil }
        let weight = conv.inputs[1]!
        let channels = weight.shape[0]
        let gamma = try norm.inputs[1].map { try $0.detach().to(.float64) } ?? Tensor.ones([channels], dtype: .float64)
        let beta = try norm.inputs[2].map { try $0.detach().to(.float64) } ?? Tensor.zeros([channels], dtype: .float64)
        let scale = try gamma / (variance.detach().to(.float64) + eps).sqrt()
        let w = try weight.detach().to(.float64) * scale.reshape([channels, 1, 1, 1])
        let b0 = try (conv.inputs.count > 2 ? conv.inputs[2] : nil).map { try $0.detach().to(.float64) }
            ?? Tensor.zeros([channels], dtype: .float64)
        let b = try (b0 - mean.detach().to(.float64)) * scale + beta
        return (normIndex, Folded(weight: try w.to(.float32).contiguous(), bias: try b.to(.float32)))
    }
}
