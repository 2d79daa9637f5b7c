import NN
import Torch

/// A residual block whose branch can be scaled: `x + s · branch(x)` (each branch, for the
/// transformer blocks' two). s = 1 is the block as trained; s = 0 makes it exactly the identity
/// (a ResNet block's final ReLU passes its non-negative input unchanged), so a training path
/// that moves s from 1 to 0 ends with a block that can be removed at no cost. Not saved with
/// the weights: a model is built and loaded at s = 1.
public protocol ResidualScaled: Module {
    /// The factor on the residual branch (default 1).
    var residualScale: Double { get set }
}

extension CollapsibleModel {
    /// Sets the residual scale of collapsible block `name`; throws for a name that is not an
    /// active collapsible block or a block without a scalable residual branch.
    public func setResidualScale(_ scale: Double, of name: String) throws {
        guard collapsibleBlockNames.contains(name) else {
            throw ModelError.notCollapsible(block: name, model: architecture.kind.rawValue, collapsible: collapsibleBlockNames)
        }
        guard let block = module(at: name) else { throw ModelError.blockNotReached(block: name) }
        if block is Identity { return }   // already removed: nothing to scale
        guard let scaled = block as? ResidualScaled else { throw ModelError.blockNotReached(block: name) }
        scaled.residualScale = scale
    }

    /// The residual scale of each active collapsible block.
    public var residualScales: [String: Double] {
        Dictionary(uniqueKeysWithValues: activeBlockNames.compactMap { name in
            (module(at: name) as? ResidualScaled).map { (name, $0.residualScale) }
        })
    }
}

extension Tensor {
    /// `self · scale`, or `self` itself when the scale is 1 (no extra kernel on the usual path).
    func scaled(by scale: Double) throws -> Tensor {
        scale == 1 ? self : try self * scale
    }
}
