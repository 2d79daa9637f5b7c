import NN
import Torch

/// Which parameters an optimizer's weight decay applies to.
public enum WeightDecayScope: String, Codable, Sendable, CaseIterable {
    /// Every parameter (PyTorch's default).
    case all
    /// Weight matrices and kernels only: no decay on biases, normalization scales and shifts
    /// (every parameter of rank ≤ 1), position tables, class tokens and relative position bias
    /// tables — the usual transformer recipe.
    case weights

    /// Whether the parameter keyed `name` decays under this scope.
    public func decays(_ name: String, _ tensor: Tensor) -> Bool {
        switch self {
        case .all: return true
        case .weights:
            let embedding = ["pos_embedding", "class_token", "relative_position_bias_table", "absolute_pos_embed"]
            return tensor.rank > 1 && !embedding.contains { name.hasSuffix($0) }
        }
    }
}

/// The parameter indices of one update group, the weight decay they take and the factor on
/// the learning rate (1 but for, e.g., a classifier trained faster than its backbone).
struct ParameterGroup {
    let indices: [Int]
    let weightDecay: Double
    let learningRateFactor: Double
}

/// Splits `names`/`tensors` into the groups the decay `scope` and the per-name learning-rate
/// factors define (one group when every parameter is treated alike); empty groups are left out.
func parameterGroups(names: [String], tensors: [Tensor], weightDecay: Double, scope: WeightDecayScope,
                     learningRateFactor: ((String) -> Double)?) -> [ParameterGroup] {
    var order: [String] = []
    var members: [String: (indices: [Int], decay: Double, factor: Double)] = [:]
    for i in tensors.indices {
        let decay = weightDecay != 0 && scope.decays(names[i], tensors[i]) ? weightDecay : 0
        let factor = learningRateFactor?(names[i]) ?? 1
        let key = "\(decay) \(factor)"
        if members[key] == nil { order.append(key); members[key] = ([], decay, factor) }
        members[key]!.indices.append(i)
    }
    return order.map { ParameterGroup(indices: members[$0]!.indices, weightDecay: members[$0]!.decay,
                                      learningRateFactor: members[$0]!.factor) }
}

/// Runs `update` on the gathered `state` of each group and scatters the result back.
func updateByGroup(_ groups: [ParameterGroup], tensors: [Tensor], states: inout [[Tensor?]],
                   _ update: ([Tensor], inout [[Tensor?]], ParameterGroup) throws -> Void) throws {
    for group in groups {
        var gathered = states.map { slots in group.indices.map { slots[$0] } }
        try update(group.indices.map { tensors[$0] }, &gathered, group)
        for s in states.indices {
            for (k, i) in group.indices.enumerated() { states[s][i] = gathered[s][k] }
        }
    }
}

/// Gradient clipping by global norm, as `torch.nn.utils.clip_grad_norm_`: when the L2 norm of
/// all gradients together exceeds `maxNorm`, every gradient is scaled by maxNorm / (norm + 1e-6).
public enum GradientClipping {
    /// Clips the gradients of `parameters` in place; returns their total norm before clipping
    /// (parameters without a gradient are ignored).
    @discardableResult
    public static func clip(_ parameters: [Tensor], maxNorm: Double) throws -> Double {
        let grads = try parameters.compactMap { try $0.grad }
        guard !grads.isEmpty else { return 0 }
        let norms = try Tensor.stack(grads.map { try $0.detach().to(.float32).norm() })
        let total = try norms.norm().item()
        let factor = maxNorm / (total + 1e-6)
        if factor < 1 {
            for g in grads { try g.mul_(factor) }
        }
        return total
    }
}
