import Torch

// MARK: - activations

/// Element-wise activations; ptflops counts one MAC per output element in its module backend.
public class Activation: Module {
    func recordElementwise(_ input: [Int], path: String, context: inout CostContext) -> [Int] {
        let macs = context.convention == .ptflopsModules ? input.reduce(1, *) : 0
        context.record(path: path, kind: typeName, input: input, output: input, parameters: 0, macs: macs)
        return input
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        recordElementwise(input, path: path, context: &context)
    }
}

public final class ReLU: Activation {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) throws -> Tensor { try x.relu() }
}

public final class ReLU6: Activation {
    public override init() { super.init() }
    public override func forward(_ x: Tensor) throws -> Tensor { try x.relu6() }
}

public final class GELU: Activation {
    public let tanhApproximation: Bool
    public init(tanhApproximation: Bool = false) {
        self.tanhApproximation = tanhApproximation
        super.init()
    }
    public override func forward(_ x: Tensor) throws -> Tensor { try x.gelu(tanhApproximation: tanhApproximation) }
}
