import NN
import Torch

/// Gives every tensor that starts at a constant a random value (zero-initialized heads and
/// residual branches, BatchNorm's unit statistics), so that the logits are far from zero and
/// every parameter matters in the comparison. Running variances are drawn in [1, 2]: below 1
/// every BatchNorm amplifies, and a deep ResNet's logits grew to ~40, where float32 rounding
/// alone comes within 2× of the 1e-4 bound on one CPU's kernels; real logits are a few units.
public func randomize(_ model: Module, seed: UInt64) throws {
    let g = try Generator(seed: seed)
    try withNoGrad {
        for (name, tensor) in model.stateDict() where tensor.dtype == .float32 {
            let constant = try tensor.abs().amax().item() == 0
            if name.hasSuffix("running_var") {
                try tensor.uniform_(from: 1, to: 2, generator: g)
            } else if constant || name.hasSuffix("running_mean") || (name.hasSuffix(".weight") && tensor.rank == 1) {
                try tensor.add_(try Tensor.randn(tensor.shape, generator: g) * 0.2)
            }
        }
    }
}
