import Costs
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

/// `nn.ReLU`. `inplace` writes into the input's memory (one activation-sized allocation and
/// pass fewer), as torchvision's ResNets do: only for an input nothing else reads afterwards.
public final class ReLU: Activation {
    public let inplace: Bool
    public init(inplace: Bool = false) {
        self.inplace = inplace
        super.init()
    }
    public override func forward(_ x: Tensor) throws -> Tensor { inplace ? try x.relu_() : try x.relu() }
    public override var extraDescription: String { inplace ? "inplace=True" : "" }
}

/// `nn.ReLU6`; `inplace` as ``ReLU``'s (torchvision's MobileNetV2 uses it).
public final class ReLU6: Activation {
    public let inplace: Bool
    public init(inplace: Bool = false) {
        self.inplace = inplace
        super.init()
    }
    public override func forward(_ x: Tensor) throws -> Tensor { inplace ? try x.relu6_() : try x.relu6() }
    public override var extraDescription: String { inplace ? "inplace=True" : "" }
}

public final class GELU: Activation {
    public let tanhApproximation: Bool
    public init(tanhApproximation: Bool = false) {
        self.tanhApproximation = tanhApproximation
        super.init()
    }
    public override func forward(_ x: Tensor) throws -> Tensor { try x.gelu(tanhApproximation: tanhApproximation) }
}
