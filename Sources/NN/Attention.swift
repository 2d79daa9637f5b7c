import Torch

// MARK: - MultiheadAttention

/// `nn.MultiheadAttention(embed_dim, num_heads, dropout, batch_first=True)` used as
/// self-attention (query = key = value, no mask, no attention weights returned), computed with
/// the fused ``Functional/scaledDotProductAttention(query:key:value:mask:dropout:)``.
///
/// PyTorch's state-dict layout: `in_proj_weight` [3E, E] (the query, key and value projections
/// stacked in that order), `in_proj_bias` [3E], then the child `out_proj` (`weight` [E, E],
/// `bias` [E]). Initialization as PyTorch's, draw for draw: `out_proj` gets the default Linear
/// init when it is built, then `in_proj_weight` is xavier-uniform and both biases are zero.
///
/// Input and output: [N, L, E]. In training mode with `dropout` > 0, the attention weights are
/// dropped with masks from `generator` (the explicit softmax path, so runs reproduce); without a
/// generator the fused kernel drops them with libtorch's global generator.
public final class MultiheadAttention: Module {
    public let embedDim: Int
    public let headCount: Int
    /// Dropout on the attention weights (training mode only).
    public let dropout: Double
    /// Masks for attention dropout (saved in training checkpoints); nil: libtorch's global one.
    public var generator: Generator?
    /// The output projection (PyTorch's key "out_proj").
    public let outProj: Child<Linear>

    public var inProjWeight: Tensor { localParameters[0] }
    public var inProjBias: Tensor { localParameters[1] }
    public var headDim: Int { embedDim / headCount }

    /// `generator` draws the initial weights; `dropoutGenerator` the attention-dropout masks.
    public init(embedDim: Int, headCount: Int, dropout: Double = 0, generator: Generator?,
                dropoutGenerator: Generator? = nil) throws {
        guard embedDim > 0, headCount > 0, embedDim % headCount == 0 else {
            throw ModuleError.invalidConfiguration(
                layer: "MultiheadAttention", detail: "embed_dim \(embedDim) must be a positive multiple of num_heads \(headCount)")
        }
        guard dropout >= 0, dropout < 1 else {
            throw ModuleError.invalidConfiguration(layer: "MultiheadAttention", detail: "dropout must be in [0, 1), got \(dropout)")
        }
        self.embedDim = embedDim
        self.headCount = headCount
        self.dropout = dropout
        self.generator = dropoutGenerator
        outProj = Child("out_proj", try Linear(embedDim, embedDim, generator: generator))
        super.init()
        let weight = try Tensor.empty([3 * embedDim, embedDim])
        try Init.xavierUniform(weight, generator: generator)
        try registerParameter("in_proj_weight", weight)
        try registerParameter("in_proj_bias", Tensor.zeros([3 * embedDim]))
        try register(outProj)
        if let bias = outProj.module.bias { try bias.zero_() }
    }

    /// Self-attention of `x` [N, L, E].
    public override func forward(_ x: Tensor) throws -> Tensor {
        let shape = x.shape
        guard shape.count == 3, shape[2] == embedDim else {
            throw ModuleError.inputShape(layer: "MultiheadAttention", path: "", expected: "[N, L, \(embedDim)]", found: shape)
        }
        let (n, l) = (shape[0], shape[1])
        // [N, L, 3E] → [3, N, H, L, D]: the query, key and value of every head.
        let qkv = try Functional.linear(x, weight: inProjWeight, bias: inProjBias)
            .reshape([n, l, 3, headCount, headDim]).permute([2, 0, 3, 1, 4])
        let (q, k, v) = try (qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2))
        let attended: Tensor
        if isTraining, dropout > 0, let generator {
            let scores = try q.matmul(k.transpose(-2, -1)) / Double(headDim).squareRoot()
            let weights = try Functional.dropout(Functional.softmax(scores, dim: -1), p: dropout, training: true,
                                                 generator: generator)
            attended = try weights.matmul(v)
        } else {
            attended = try Functional.scaledDotProductAttention(query: q, key: k, value: v,
                                                                dropout: isTraining ? dropout : 0)
        }
        return try outProj(attended.transpose(1, 2).reshape([n, l, embedDim]))
    }

    public override var localGenerators: [(name: String, generator: Generator)] {
        generator.map { [("generator", $0)] } ?? []
    }

    public override var extraDescription: String { "embed_dim=\(embedDim), num_heads=\(headCount), dropout=\(dropout)" }

    /// The input projection (recorded as "<path>.in_proj", a Linear), the two attention
    /// products q·kᵀ and weights·v (as "<path>.attention": N·L·L·E MACs each), then `out_proj`.
    /// The module convention adds the projection biases and one per softmax element.
    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        guard input.count == 3, input[2] == embedDim else {
            throw ModuleError.inputShape(layer: "MultiheadAttention", path: path, expected: "[N, L, \(embedDim)]", found: input)
        }
        let (n, l) = (input[0], input[1])
        let modules = context.convention == .ptflopsModules
        let prefix = path.isEmpty ? "" : path + "."
        let projected = [n, l, 3 * embedDim]
        context.record(path: prefix + "in_proj", kind: "Linear", input: input, output: projected,
                       parameters: 3 * embedDim * embedDim + 3 * embedDim,
                       macs: n * l * embedDim * 3 * embedDim + (modules ? n * l * 3 * embedDim : 0))
        context.record(path: prefix + "attention", kind: "scaled_dot_product_attention", input: projected, output: input,
                       parameters: 0, macs: 2 * n * l * l * embedDim + (modules ? n * headCount * l * l : 0))
        return try analyze(outProj, input, path: path, context: &context)
    }
}
