import Foundation
import Torch

/// Weight initializers with PyTorch's formulas (`torch.nn.init`), drawing from a generator.
/// They write in place without recording gradients. A nil generator is libtorch's global one.
public enum Init {
    public enum FanMode: String, Sendable { case fanIn, fanOut }

    public enum Nonlinearity: Sendable {
        case linear, relu, tanh
        /// Leaky ReLU with the given negative slope (`a`).
        case leakyReLU(Double)

        /// `torch.nn.init.calculate_gain`.
        public var gain: Double {
            switch self {
            case .linear: 1
            case .relu: 2.0.squareRoot()
            case .tanh: 5.0 / 3
            case .leakyReLU(let a): (2.0 / (1 + a * a)).squareRoot()
            }
        }
    }

    /// (fan_in, fan_out) as PyTorch computes them: dims 1 and 0 times the receptive field.
    public static func fans(_ shape: [Int]) throws -> (fanIn: Int, fanOut: Int) {
        guard shape.count >= 2 else {
            throw NNError("fan in and fan out need a tensor of at least 2 dimensions, got shape \(shape)")
        }
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// `kaiming_uniform_`: U(-b, b) with b = gain · √(3 / fan).
    public static func kaimingUniform(_ t: Tensor, a: Double = 0, mode: FanMode = .fanIn,
                                      nonlinearity: Nonlinearity? = nil, generator: Generator?) throws {
        let (fanIn, fanOut) = try fans(t.shape)
        let fan = mode == .fanIn ? fanIn : fanOut
        let gain = (nonlinearity ?? .leakyReLU(a)).gain
        let std = gain / Double(fan).squareRoot()
        let bound = 3.0.squareRoot() * std
        try t.uniform_(from: -bound, to: bound, generator: generator)
    }

    /// `kaiming_normal_`: N(0, (gain / √fan)²).
    public static func kaimingNormal(_ t: Tensor, a: Double = 0, mode: FanMode = .fanIn,
                                     nonlinearity: Nonlinearity? = nil, generator: Generator?) throws {
        let (fanIn, fanOut) = try fans(t.shape)
        let fan = mode == .fanIn ? fanIn : fanOut
        let gain = (nonlinearity ?? .leakyReLU(a)).gain
        try t.normal_(mean: 0, std: gain / Double(fan).squareRoot(), generator: generator)
    }

    /// The default initialization of `nn.Conv2d` and `nn.Linear`: weight kaiming-uniform with
    /// a = √5 (so U(±1/√fan_in)), bias U(±1/√fan_in).
    public static func pytorchDefault(weight: Tensor, bias: Tensor?, generator: Generator?) throws {
        try kaimingUniform(weight, a: 5.0.squareRoot(), generator: generator)
        if let bias {
            let fanIn = try fans(weight.shape).fanIn
            if fanIn > 0 {
                let bound = 1 / Double(fanIn).squareRoot()
                try bias.uniform_(from: -bound, to: bound, generator: generator)
            }
        }
    }

    /// `xavier_uniform_`: U(-a, a) with a = gain · √(6 / (fan_in + fan_out)).
    public static func xavierUniform(_ t: Tensor, gain: Double = 1, generator: Generator?) throws {
        let (fanIn, fanOut) = try fans(t.shape)
        let std = gain * (2.0 / Double(fanIn + fanOut)).squareRoot()
        let a = 3.0.squareRoot() * std
        try t.uniform_(from: -a, to: a, generator: generator)
    }

    /// `trunc_normal_`: N(mean, std²) truncated to [a, b] (absolute bounds), drawn as PyTorch
    /// 1.13 does (the parity reference) — one uniform draw on [2Φ(α) − 1, 2Φ(β) − 1] mapped
    /// through √2 · erfinv, then scaled, shifted and clamped. (PyTorch 2.x draws the same law
    /// differently when [a, b] holds more than 30 % of the mass: normal_ with rejection.)
    public static func truncatedNormal(_ t: Tensor, mean: Double = 0, std: Double = 1, a: Double = -2, b: Double = 2,
                                       generator: Generator?) throws {
        func normalCDF(_ x: Double) -> Double { (1 + erf(x / 2.0.squareRoot())) / 2 }
        let lower = normalCDF((a - mean) / std)
        let upper = normalCDF((b - mean) / std)
        try withNoGrad {
            try t.uniform_(from: 2 * lower - 1, to: 2 * upper - 1, generator: generator)
            try t.copy_(t.erfinv())
            try t.mul_(std * 2.0.squareRoot())
            try t.add_(mean)
            try t.copy_(t.clamp(min: a, max: b))
        }
    }

    public static func uniform(_ t: Tensor, from: Double, to: Double, generator: Generator?) throws {
        try t.uniform_(from: from, to: to, generator: generator)
    }

    public static func normal(_ t: Tensor, mean: Double = 0, std: Double = 1, generator: Generator?) throws {
        try t.normal_(mean: mean, std: std, generator: generator)
    }

    public static func constant(_ t: Tensor, _ value: Double) throws { try t.fill_(value) }
}
