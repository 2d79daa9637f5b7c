import Torch

/// How the distance between two feature batches is taken.
public enum DistanceMode: String, Codable, Sendable, CaseIterable {
    /// As the reference (POT's `max_sliced_wasserstein_distance`): the best of K random
    /// directions, drawn afresh on every call (here from a seeded generator).
    case reference
    /// The max-sliced distance approached more closely: start from the best random direction
    /// (or the one kept from the previous call for the same block) and improve it by a few
    /// fixed-point ascent steps on the sphere, keeping the best direction seen. Never below
    /// `reference` on the same directions.
    case optimized
    /// The plain sliced distance: the mean of W_p^p over the K directions, then the p-th root.
    case sliced
}

/// The (max-)sliced Wasserstein distance between two batches X, Y of shape [N, d] — or any
/// shape [N, …], flattened per sample. N is the batches' true size; each sample weighs 1/N.
///
/// For a unit direction θ, the 1-D problem is solved exactly by sorting:
/// `W_p^p(θ) = (1/N) Σ_i |sort(Xθ)_i − sort(Yθ)_i|^p`.
/// `reference`: `max_k W_p^p(θ_k)^(1/p)`; `sliced`: `(mean_k W_p^p(θ_k))^(1/p)`.
/// The value is differentiable in X and Y (through the sort along the chosen direction);
/// directions are never differentiated.
public struct SlicedWasserstein: Sendable {
    public var mode: DistanceMode
    /// Number of random directions K (the reference uses 50).
    public var projectionCount: Int
    /// The order p of the 1-D Wasserstein distance (the reference uses 2).
    public var p: Double
    /// Ascent steps of the `optimized` mode.
    public var ascentSteps: Int

    public init(mode: DistanceMode = .reference, projectionCount: Int = 50, p: Double = 2, ascentSteps: Int = 5) {
        self.mode = mode
        self.projectionCount = projectionCount
        self.p = p
        self.ascentSteps = ascentSteps
    }

    /// The result of one evaluation: the differentiable distance and the direction it used
    /// (for `reference` and `optimized`), which `optimized` can warm-start from next time.
    public struct Result {
        public let distance: Tensor
        public let direction: Tensor?
    }

    /// K unit directions in R^d as the columns of a [d, K] matrix, from `generator`.
    public static func randomDirections(dimension: Int, count: Int, dtype: DType = .float32,
                                        generator: Generator) throws -> Tensor {
        let g = try Tensor.randn([dimension, count], dtype: dtype, generator: generator)
        return try g / g.norm(p: 2, dims: [0], keepDim: true)
    }

    /// The distance with directions drawn from `generator`; `warmStart` ([d, 1], optional) is
    /// added to the candidates in `optimized` mode.
    public func callAsFunction(_ x: Tensor, _ y: Tensor, generator: Generator, warmStart: Tensor? = nil) throws -> Result {
        let (fx, fy) = try flattenPair(x, y, inMemoryOrder: true)
        let d = fx.shape[1]
        let directions = try withNoGrad {
            try Self.randomDirections(dimension: d, count: projectionCount, dtype: fx.dtype, generator: generator).to(fx.device)
        }
        return try evaluate(fx, fy, directions: directions, warmStart: warmStart)
    }

    /// The distance with the given directions ([d, K], unit columns).
    public func callAsFunction(_ x: Tensor, _ y: Tensor, directions: Tensor) throws -> Result {
        let (fx, fy) = try flattenPair(x, y)
        return try evaluate(fx, fy, directions: directions, warmStart: nil)
    }

    // MARK: internals

    /// Each sample flattened to one row. With `inMemoryOrder`, two channels-last batches are
    /// flattened in their memory order (H, W, C) — a view, where the logical order would copy
    /// both batches forward and their gradients back. With random isotropic directions the
    /// distance is the same in law for any fixed order of the coordinates; given directions
    /// (parity with POT) always use the logical (C, H, W) order.
    private func flattenPair(_ x: Tensor, _ y: Tensor, inMemoryOrder: Bool = false) throws -> (Tensor, Tensor) {
        let sx = x.shape, sy = y.shape
        guard sx == sy else { throw DistanceError.shapeMismatch(x: sx, y: sy) }
        guard sx.count >= 1, sx[0] >= 1 else { throw DistanceError.noSamples(shape: sx) }
        let n = sx[0]
        if inMemoryOrder, sx.count == 4, x.isContiguous(.channelsLast), y.isContiguous(.channelsLast),
           !x.isContiguous(), !y.isContiguous() {
            return (try x.permute([0, 2, 3, 1]).reshape([n, -1]), try y.permute([0, 2, 3, 1]).reshape([n, -1]))
        }
        return (try x.reshape([n, -1]), try y.reshape([n, -1]))
    }

    /// W_p^p for each column of `directions`: [K]. One matmul per batch for all directions
    /// (no copy of the features), one sort per batch along the samples.
    private func projectedCosts(_ x: Tensor, _ y: Tensor, _ directions: Tensor) throws -> Tensor {
        let px = try x.matmul(directions).sort(dim: 0).values      // [N, K]
        let py = try y.matmul(directions).sort(dim: 0).values
        return try powered(px - py).mean(dims: [0])
    }

    /// |gap|^p, with the common p = 1, 2 cases as single ops.
    private func powered(_ gap: Tensor) throws -> Tensor {
        p == 2 ? try gap.square() : (p == 1 ? try gap.abs() : try gap.abs().pow(p))
    }

    /// The column of `candidates` with the largest W_p^p ([d, 1]) and that cost (a scalar).
    /// Without a graph; on the CPU the sorts and gaps run as one fused kernel.
    private func bestCandidate(_ x: Tensor, _ y: Tensor, _ candidates: Tensor) throws -> (direction: Tensor, cost: Tensor) {
        let costs = x.device == .cpu
            ? try Functional.slicedCosts(x.matmul(candidates), y.matmul(candidates), p: p)
            : try projectedCosts(x, y, candidates)
        let index = Int(try costs.argmax(dim: 0).item())
        return (try candidates.narrow(1, start: index, length: 1).contiguous(), try costs.select(0, index))
    }

    /// p-th root that stays differentiable at zero (identical batches).
    private func root(_ value: Tensor) throws -> Tensor {
        let safe = try value.clamp(min: 1e-30)
        return p == 2 ? try safe.sqrt() : (p == 1 ? safe : try safe.pow(1 / p))
    }

    private func evaluate(_ x: Tensor, _ y: Tensor, directions: Tensor, warmStart: Tensor?) throws -> Result {
        switch mode {
        case .sliced:
            let costs = try projectedCosts(x, y, directions)
            return Result(distance: try root(costs.mean()), direction: nil)
        case .reference:
            // The max over K directions only back-propagates through the winning one, so pick
            // it without a graph and take the differentiable distance along it alone: the same
            // value and gradient, without K-wide matrix products in the backward pass.
            let column = try withNoGrad { try bestCandidate(x.detach(), y.detach(), directions).direction }
            let cost = try projectedCosts(x, y, column)
            return Result(distance: try root(cost.reshape([])), direction: column)
        case .optimized:
            var candidates = directions
            if let warmStart, warmStart.shape == [directions.shape[0], 1] {
                candidates = try Tensor.cat([directions, warmStart.to(directions.dtype)], dim: 1)
            }
            let direction = try withNoGrad { try ascend(x.detach(), y.detach(), candidates: candidates) }
            let cost = try projectedCosts(x, y, direction)
            return Result(distance: try root(cost.reshape([])), direction: direction)
        }
    }

    /// Starts from the best candidate and applies fixed-point ascent steps
    /// θ ← normalize(Σ_i φ(r_i) (x_σ(i) − y_τ(i))), with σ, τ the sorting permutations,
    /// r_i the sorted projected gaps and φ(r) = sign(r)|r|^(p−1) — the gradient of W_p^p at θ.
    /// For p = 2 this is a power-iteration step on the coupling's second-moment matrix. The
    /// best direction seen is returned, so the result is never below the best candidate.
    ///
    /// Each step is two matrix-vector products forward and two back (Xᵀa − Yᵀb, with the
    /// weights scattered to the samples' original positions), with no copy of the features and
    /// a single synchronization at the end.
    private func ascend(_ x: Tensor, _ y: Tensor, candidates: Tensor) throws -> Tensor {
        let (start, startCost) = try bestCandidate(x, y, candidates)
        var thetas = [start]
        var values = [startCost]
        var theta = start
        let n = x.shape[0]
        let xt = try x.transpose(0, 1), yt = try y.transpose(0, 1)
        for step in 0..<ascentSteps {
            let (sx, ix) = try x.matmul(theta).reshape([n]).sort(dim: 0)
            let (sy, iy) = try y.matmul(theta).reshape([n]).sort(dim: 0)
            let gap = try sx - sy                                              // [N], sorted order
            if step > 0 { values.append(try powered(gap).mean()) }            // W_p^p at θ
            let weight = p == 2 ? gap : try gap.sign() * gap.abs().pow(p - 1)
            // weight of each sample at its original position: gather by the inverse permutation
            let a = try weight.gather(0, ix.sort(dim: 0).indices)
            let b = try weight.gather(0, iy.sort(dim: 0).indices)
            let direction = try xt.matmul(a.reshape([n, 1])) - yt.matmul(b.reshape([n, 1]))   // [d, 1]
            theta = try direction / direction.norm().clamp(min: 1e-30)
            thetas.append(theta)
        }
        if ascentSteps > 0 {
            values.append(try powered(x.matmul(theta).reshape([n]).sort(dim: 0).values
                                      - y.matmul(theta).reshape([n]).sort(dim: 0).values).mean())
        }
        // non-finite values (a degenerate step) never win
        let all = try Tensor.stack(values)
        let finite = try Tensor.where(all.isFinite(), all, Tensor.scalar(-1, dtype: all.dtype))
        return thetas[Int(try finite.argmax(dim: 0).item())]
    }
}
