import LaCoOT
import Models
import NN
import Torch

extension Trainer {
    /// For ``BlockSelection/ablation``: the cross-entropy increase on `images` when each of
    /// `blocks` alone is bypassed (its residual scale set to 0), in evaluation mode and without
    /// gradients; every block's scale and the model's mode are restored. Data-parallel ranks
    /// average their costs, so that all of them select the same blocks. Nil when a block has
    /// no residual scale (the selection then falls back to the distances).
    public func removalCosts(of blocks: [String], images: Tensor, labels: Tensor) throws -> [String: Double]? {
        let scales = model.residualScales
        guard blocks.allSatisfy({ scales[$0] != nil }) else { return nil }
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        func crossEntropy() throws -> Double {
            try withNoGrad {
                let logits = try withPrecision(config.execution.precision, device: device) { try model(images) }
                return try Functional.crossEntropy(logits.dtype == .float32 ? logits : logits.to(.float32), target: labels).item()
            }
        }
        let base = try crossEntropy()
        var costs: [Double] = []
        for block in blocks {
            try model.setResidualScale(0, of: block)
            defer { try? model.setResidualScale(scales[block] ?? 1, of: block) }
            costs.append(try crossEntropy() - base)
        }
        costs = try synchronization.mean(of: costs)
        return Dictionary(uniqueKeysWithValues: zip(blocks, costs))
    }
}
