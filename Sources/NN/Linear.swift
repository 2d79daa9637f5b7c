import Costs
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

// MARK: - MLPBlock

/// torchvision's `MLP` with one hidden layer, as transformers use it (ViT's `MLPBlock`, Swin's
/// `mlp`): children "0" Linear(in, hidden), "1" GELU, "2" Dropout, "3" Linear(hidden, out),
/// "4" Dropout — so the keys are `mlp.0.weight` … `mlp.3.bias`. Each Linear has PyTorch's
/// default initialization, drawn in that order; models that re-initialize do so afterwards.
public final class MLPBlock: Module {
    public let fc1: Child<Linear>
    public let activation: Child<Module>
    public let dropout1: Child<Dropout>
    public let fc2: Child<Linear>
    public let dropout2: Child<Dropout>

    /// `generator` draws the weights; the two Dropouts take their masks from `dropoutGenerators`.
    public init(_ inFeatures: Int, hidden: Int, out: Int? = nil, dropout: Double = 0, generator: Generator?,
                dropoutGenerators: (Generator?, Generator?) = (nil, nil)) throws {
        fc1 = Child("0", try Linear(inFeatures, hidden, generator: generator))
        activation = Child("1", GELU())
        dropout1 = Child("2", try Dropout(p: dropout, generator: dropoutGenerators.0))
        fc2 = Child("3", try Linear(hidden, out ?? inFeatures, generator: generator))
        dropout2 = Child("4", try Dropout(p: dropout, generator: dropoutGenerators.1))
        super.init()
        try register(fc1, activation, dropout1, fc2, dropout2)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try dropout2(fc2(dropout1(activation(fc1(x)))))
    }
}
