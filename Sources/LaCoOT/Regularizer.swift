import LacootRecords
import Models
import NN
import Torch

/// A training term computed from each regularized block's input and output, weighted per
/// block by a ``LambdaPolicy`` it owns. The trainer talks to this protocol only: each step it
/// asks the policy for the weights, observes the blocks when λ > 0, adds
/// ``penalty(_:weights:)``'s loss to the cross-entropy and, with an adaptive policy, feeds the
/// distances back. ``LaCoOTRegularizer`` (max-sliced Wasserstein) is one implementation; the
/// checkpoint requirements have stateless defaults.
public protocol Regularizer: AnyObject {
    /// The blocks regularized, in forward order.
    var blocks: [String] { get }
    /// λ of each block at each step.
    var policy: LambdaPolicy { get set }
    /// The penalty of one forward pass's block events (the events of blocks it does not
    /// regularize are ignored) with the step's `weights`: a scalar loss in the graph, and each
    /// measured block's distance (detached) in forward order.
    func penalty(_ events: [BlockEvent], weights: BlockWeights) throws -> Penalty
    /// Random generators a checkpoint saves and restores, by name.
    var checkpointGenerators: [String: Generator] { get }
    /// Tensors carried from step to step that a checkpoint saves.
    func carriedTensors() throws -> [NamedTensor]
    /// Restores ``carriedTensors()``.
    func restoreCarriedTensors(_ tensors: [NamedTensor]) throws
}

extension Regularizer {
    public var checkpointGenerators: [String: Generator] { [:] }
    public func carriedTensors() throws -> [NamedTensor] { [] }
    public func restoreCarriedTensors(_ tensors: [NamedTensor]) throws {
        if let name = tensors.first?.name {
            throw ConfigurationError.outOfRange(flag: "checkpoint", problem: "regularizer state \"\(name)\" is not this regularizer's")
        }
    }
}

/// The penalty of one forward pass.
public struct Penalty {
    /// Σ_b λ_b · distance_b / (blocks measured) (a scalar in the graph; 0 when λ = 0).
    public let loss: Tensor
    /// λ at this step (the mean weight of the blocks measured, with per-block weights).
    public let lambda: Double
    /// The distance of each block (detached values), in forward order; empty when nothing was
    /// measured.
    public let distances: [BlockDistance]

    public init(loss: Tensor, lambda: Double, distances: [BlockDistance]) {
        self.loss = loss
        self.lambda = lambda
        self.distances = distances
    }

    /// Mean of `distances` (0 when empty).
    public var meanDistance: Double {
        distances.isEmpty ? 0 : distances.map(\.distance).reduce(0, +) / Double(distances.count)
    }
}
