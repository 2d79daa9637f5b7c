import NN
import Torch

/// Zero-initialized residual branches (Goyal et al. 2017; torchvision's `zero_init_residual`):
/// the last BatchNorm of a block's residual branch gets weight 0, so the block starts as the
/// identity and training grows the branch only as far as the loss asks. For LaCoOT this
/// means a block to be removed starts removable and only has to stay so.
public enum ResidualInit {
    /// Sets the weight of the last BatchNorm layer (in registration order) of each named block
    /// to 0 and returns the blocks changed; a block without BatchNorm (transformer blocks) is
    /// left as it is.
    @discardableResult
    public static func zeroLastNorm(of blocks: [String], in model: any CollapsibleModel) throws -> [String] {
        var changed: [String] = []
        for name in blocks {
            guard let block = model.module(at: name),
                  let last = block.namedModules().last(where: { $0.module is BatchNorm2d })?.module as? BatchNorm2d,
                  let weight = last.weight else { continue }
            try withNoGrad { try weight.zero_() }
            changed.append(name)
        }
        return changed
    }
}
