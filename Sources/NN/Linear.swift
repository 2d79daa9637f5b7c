import Torch

// MARK: - Linear

/// `nn.Linear`: y = x Wᵀ + b with `weight` [out, in], `bias` [out]; PyTorch's default init.
public final class Linear: Module {
    public let inFeatures: Int
    public let outFeatures: Int
    public let hasBias: Bool
    public var weight: Tensor { localParameters[0] }
    public var bias: Tensor? { hasBias ? localParameters[1] : nil }

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: Generator?) throws {
        guard inFeatures > 0, outFeatures > 0 else {
            throw ModuleError.invalidConfiguration(layer: "Linear", detail: "features must be positive, got \(inFeatures)→\(outFeatures)")
        }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.hasBias = bias
        super.init()
        let w = try Tensor.empty([outFeatures, inFeatures])
        let b = bias ? try Tensor.empty([outFeatures]) : nil
        try Init.pytorchDefault(weight: w, bias: b, generator: generator)
        try registerParameter("weight", w)
        if let b { try registerParameter("bias", b) }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try Functional.linear(x, weight: localParameters[0], bias: hasBias ? localParameters[1] : nil)
    }

    public override var extraDescription: String { "\(inFeatures), \(outFeatures)" + (hasBias ? "" : ", bias=false") }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        guard let last = input.last, last == inFeatures else {
            throw ModuleError.inputShape(layer: "Linear", path: path, expected: "\(inFeatures) input features", found: input)
        }
        let output = input.dropLast() + [outFeatures]
        var macs = input.reduce(1, *) * outFeatures
        if hasBias && context.convention == .ptflopsModules { macs += outFeatures }
        context.record(path: path, kind: "Linear", input: input, output: Array(output),
                       parameters: localParameters.reduce(0) { $0 + $1.elementCount }, macs: macs)
        return Array(output)
    }
}
