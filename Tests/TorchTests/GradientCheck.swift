import Testing
@testable import Torch

/// Compares autograd gradients of a scalar function with central finite differences, in float64.
/// Checks every element of every input (inputs are tiny).
func expectGradientsMatch(_ inputs: [Tensor], eps: Double = 1e-6, tolerance: Double = 1e-5,
                          sourceLocation: SourceLocation = #_sourceLocation,
                          _ f: ([Tensor]) throws -> Tensor) throws {
    let leaves = try inputs.map { try $0.detach().to(.float64).requiresGrad(true) }
    let analytic = try gradients(of: [f(leaves)], with: leaves)
    for (k, leaf) in leaves.enumerated() {
        let base = try leaf.doubles()
        let shape = leaf.shape
        let grad = try analytic[k].map { try $0.doubles() } ?? [Double](repeating: 0, count: base.count)
        for i in base.indices {
            func value(at delta: Double) throws -> Double {
                var shifted = base
                shifted[i] += delta
                var args = leaves
                args[k] = try Tensor(shifted, shape: shape)
                return try withNoGrad { try f(args).item() }
            }
            let numeric = (try value(at: eps) - value(at: -eps)) / (2 * eps)
            let scale = Swift.max(1, Swift.abs(numeric))
            #expect(Swift.abs(numeric - grad[i]) <= tolerance * scale,
                    "input \(k) element \(i): autograd \(grad[i]) vs finite difference \(numeric)",
                    sourceLocation: sourceLocation)
        }
    }
}
