import Models
import NN
import Torch

extension Collapser {
    /// A copy of `model` for inference only: evaluation mode, every BatchNorm that normalizes a
    /// convolution's output folded into that convolution (``Module/foldBatchNorms(sampleInput:)``),
    /// and `layout` — by default, for convolutional families (``ModelFamily/prefersChannelsLast``),
    /// the channels-last layout oneDNN's kernels prefer. It computes the same logits up to float
    /// rounding with fewer passes over the activations; it is not for training or saving (its
    /// norms are gone). `inputShape` is [C, H, W].
    public static func inferenceCopy(of model: any CollapsibleModel, inputShape: [Int],
                                     layout: MemoryFormat? = nil) throws -> any CollapsibleModel {
        let copy = try Collapser.copy(of: model)
        copy.eval()
        let format = try layout ?? (copy.architecture.kind.family.prefersChannelsLast ? .channelsLast : copy.memoryFormat)
        if copy.memoryFormat != format { try copy.setMemoryFormat(format) }
        let sample = try Tensor.zeros([1] + inputShape).to(copy.device)
        try copy.foldBatchNorms(sampleInput: copy.memoryFormat == .channelsLast ? sample.contiguous(.channelsLast) : sample)
        return copy
    }
}
