import Torch

/// Which features of a block LaCoOT compares with the block's input.
public enum FeatureTap: String, Codable, Sendable, CaseIterable {
    /// The block's output — the paper's definition: a block whose output is distributed like
    /// its input can be replaced by the identity.
    case output
    /// The output of a transformer block's MLP branch before stochastic depth and the residual
    /// add (torchvision's MLP after its last dropout) — what the reference code's hooks compare
    /// for Swin-T. Only blocks with an MLP branch (Swin blocks, ViT encoder layers) have it.
    case mlpBranch = "mlp-branch"
}

/// A block with an MLP branch that can report that branch's output with its own.
protocol BranchedBlock {
    /// The block's output and its MLP branch's output (before stochastic depth and the add).
    func forwardWithBranch(_ input: Tensor) throws -> (output: Tensor, branch: Tensor)
}

