import NN
import Torch

extension CaptureTranslator {
    /// The evaluation-mode BatchNorm node that reads only convolution node `index`'s output,
    /// and the convolution's weight and bias with that norm folded in (NN's
    /// ``BatchNormFolding``, float64 then float32); nil when the pattern does not apply or the
    /// norm's statistics and affine parameters are not constants.
    func foldedBatchNorm(convolution index: Int) throws -> (normIndex: Int, weight: Tensor, bias: Tensor)? {
        let conv = nodes[index]
        let output = conv.outputs[0]
        guard let reading = readers[ObjectIdentifier(output)], reading.count == 1 else { return nil }
        let normIndex = reading[0]
        let norm = nodes[normIndex]
        guard case .batchNorm(training: false, let eps) = norm.operation, norm.inputs[0] === output,
              let mean = norm.inputs[3], let variance = norm.inputs[4] else { return nil }
        let statistics = norm.inputs.dropFirst().compactMap { $0 }
        guard statistics.allSatisfy({ names[ObjectIdentifier($0)] == nil }) else { return nil }
        let folded = try BatchNormFolding.fold(weight: conv.inputs[1]!.to(.float32), bias: conv.inputs.count > 2 ? conv.inputs[2] : nil,
                                               gamma: norm.inputs[1], beta: norm.inputs[2], mean: mean, variance: variance, eps: eps)
        return (normIndex, folded.weight, folded.bias)
    }
}
