import Costs
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

// MARK: - ShiftedWindowAttention

/// Swin's window attention with a relative position bias (torchvision's
/// `ShiftedWindowAttention`) on [B, H, W, C] tokens: the map is zero-padded to whole windows,
/// cyclically shifted by `shift` (no shift along a side whose window covers the padded map),
/// cut into windows of `window` tokens that attend among themselves — with the learned bias
/// `relative_position_bias_table[relative_position_index]` and, when shifted, −100 between
/// tokens from different regions —, projected, put back, unshifted and cropped.
///
/// Keys as torchvision's: `relative_position_bias_table` [(2Wh−1)(2Ww−1), heads],
/// `relative_position_index` (int64 buffer, Wh·Ww·Wh·Ww), `qkv` (Linear C → 3C), `proj`.
/// Initialization: the two Linears' defaults, then the table truncated-normal with std 0.02.
/// No attention or output dropout (torchvision's Swin-T uses none).
public final class ShiftedWindowAttention: Module {
    public let dim: Int
    public let window: (Int, Int)
    public let shift: (Int, Int)
    public let headCount: Int
    public let qkv: Child<Linear>
    public let proj: Child<Linear>

    public var relativePositionBiasTable: Tensor { localParameters[0] }
    /// The shifted windows' masks by [height, width, shift y, shift x] (not state: rebuilt on demand).
    private var shiftMasks: [[Int]: Tensor] = [:]
    public var relativePositionIndex: Tensor { localBuffers[0] }

    public init(dim: Int, window: (Int, Int), shift: (Int, Int), headCount: Int, generator: Generator?) throws {
        guard dim > 0, headCount > 0, dim % headCount == 0, window.0 > 0, window.1 > 0, shift.0 >= 0, shift.1 >= 0 else {
            throw ModuleError.invalidConfiguration(
                layer: "ShiftedWindowAttention", detail: "dim \(dim), heads \(headCount), window \(window), shift \(shift)")
        }
        self.dim = dim
        self.window = window
        self.shift = shift
        self.headCount = headCount
        qkv = Child("qkv", try Linear(dim, 3 * dim, generator: generator))
        proj = Child("proj", try Linear(dim, dim, generator: generator))
        super.init()
        let table = try Tensor.zeros([(2 * window.0 - 1) * (2 * window.1 - 1), headCount])
        try Init.truncatedNormal(table, std: 0.02, generator: generator)
        try registerParameter("relative_position_bias_table", table)
        try registerBuffer("relative_position_index", Tensor(Self.relativeIndex(window), shape: [Self.tokens(window) * Self.tokens(window)]))
        try register(qkv, proj)
    }

    static func tokens(_ window: (Int, Int)) -> Int { window.0 * window.1 }

    /// For each pair of tokens (i, j) of a window, the row of their offset in the bias table.
    static func relativeIndex(_ window: (Int, Int)) -> [Int64] {
        let n = tokens(window)
        var index: [Int64] = []
        index.reserveCapacity(n * n)
        for i in 0..<n {
            for j in 0..<n {
                let dy = i / window.1 - j / window.1 + window.0 - 1
                let dx = i % window.1 - j % window.1 + window.1 - 1
                index.append(Int64(dy * (2 * window.1 - 1) + dx))
            }
        }
        return index
    }

    /// −100 between tokens of a window that come from different regions of the shifted map
    /// (torchvision's region ids, Python slice semantics included), else 0: [windows, N, N].
    static func shiftMask(height: Int, width: Int, window: (Int, Int), shift: (Int, Int)) -> [Float] {
        func bounds(_ start: Int, _ end: Int?, _ length: Int) -> Range<Int> {
            func resolve(_ v: Int) -> Int { Swift.min(Swift.max(v < 0 ? length + v : v, 0), length) }
            let lo = resolve(start), hi = end.map(resolve) ?? length
            return lo..<Swift.max(lo, hi)
        }
        let rows = [bounds(0, -window.0, height), bounds(-window.0, -shift.0, height), bounds(-shift.0, nil, height)]
        let columns = [bounds(0, -window.1, width), bounds(-window.1, -shift.1, width), bounds(-shift.1, nil, width)]
        var region = [Int](repeating: 0, count: height * width)
        var count = 0
        for r in rows {
            for c in columns {
                for y in r { for x in c { region[y * width + x] = count } }
                count += 1
            }
        }
        let (wy, wx) = (height / window.0, width / window.1)
        let n = tokens(window)
        var mask: [Float] = []
        mask.reserveCapacity(wy * wx * n * n)
        for a in 0..<wy {
            for b in 0..<wx {
                let ids = (0..<n).map { region[(a * window.0 + $0 / window.1) * width + b * window.1 + $0 % window.1] }
                for i in 0..<n { for j in 0..<n { mask.append(ids[i] == ids[j] ? 0 : -100) } }
            }
        }
        return mask
    }

    /// Window attention of `x` [B, H, W, C], computing what torchvision's does with two exact
    /// shortcuts. The map is zero-padded to whole windows, and a zero token's projection is
    /// the bias alone: `qkv` runs on the real tokens only and its result is padded with the
    /// bias (on a 2×2 map in a 7×7 window that skips 45 of 49 rows). `proj` acts per token, so
    /// it runs after the windows are merged and the padding cropped.
    public override func forward(_ x: Tensor) throws -> Tensor {
        let shape = x.shape
        guard shape.count == 4, shape[3] == dim else {
            throw ModuleError.inputShape(layer: "ShiftedWindowAttention", path: "", expected: "[B, H, W, \(dim)]", found: shape)
        }
        let (b, h, w) = (shape[0], shape[1], shape[2])
        let padBottom = (window.0 - h % window.0) % window.0, padRight = (window.1 - w % window.1) % window.1
        let (ph, pw) = (h + padBottom, w + padRight)
        var t = try projectPadded(x, padBottom: padBottom, padRight: padRight)   // [B, ph, pw, 3C]
        let s = (window.0 >= ph ? 0 : shift.0, window.1 >= pw ? 0 : shift.1)
        if s.0 + s.1 > 0 { t = try t.roll(shifts: [-s.0, -s.1], dims: [1, 2]) }
        let (wy, wx, n, d) = (ph / window.0, pw / window.1, Self.tokens(window), dim / headCount)
        // [B, wy, Wh, wx, Ww, 3C] → [B, windows, N, 3, heads, d] → q, k, v [B, windows, heads, N, d]
        let parts = try t.reshape([b, wy, window.0, wx, window.1, 3 * dim]).permute([0, 1, 3, 2, 4, 5])
            .reshape([b, wy * wx, n, 3, headCount, d]).permute([3, 0, 1, 4, 2, 5])
        let attended = try Functional.scaledDotProductAttention(query: parts.select(0, 0), key: parts.select(0, 1),
                                                                value: parts.select(0, 2),
                                                                mask: attentionBias(height: ph, width: pw, shift: s).to(t.dtype))
        // [B, windows, heads, N, d] → [B, wy, wx, Wh, Ww, C] → [B, ph, pw, C]
        t = try attended.permute([0, 1, 3, 2, 4]).reshape([b, wy, wx, window.0, window.1, dim])
            .permute([0, 1, 3, 2, 4, 5]).reshape([b, ph, pw, dim])
        if s.0 + s.1 > 0 { t = try t.roll(shifts: [s.0, s.1], dims: [1, 2]) }
        if padBottom + padRight > 0 { t = try t.narrow(1, start: 0, length: h).narrow(2, start: 0, length: w) }
        return try proj(t)
    }

    /// `qkv` of the map zero-padded by `padBottom` rows and `padRight` columns, projecting only
    /// the real tokens (the padding's projection is the bias).
    private func projectPadded(_ x: Tensor, padBottom: Int, padRight: Int) throws -> Tensor {
        guard padBottom + padRight > 0 else { return try qkv(x) }
        let layer = qkv.module
        let projected = try Functional.linear(x, weight: layer.weight).pad([0, 0, 0, padRight, 0, padBottom])
        guard let bias = layer.bias else { return projected }
        return try projected + bias.to(projected.dtype)
    }

    /// The relative position bias [heads, N, N], plus the shifted windows' mask
    /// ([windows, heads, N, N]) when the map is shifted. The mask depends only on the sizes,
    /// so it is built once per size.
    private func attentionBias(height: Int, width: Int, shift s: (Int, Int)) throws -> Tensor {
        let n = Self.tokens(window)
        let bias = try relativePositionBiasTable.indexSelect(0, relativePositionIndex).reshape([n, n, headCount])
            .permute([2, 0, 1])
        guard s.0 + s.1 > 0 else { return bias }
        let key = [height, width, s.0, s.1]
        let mask: Tensor
        if let cached = shiftMasks[key], cached.device == bias.device {
            mask = cached
        } else {
            let windows = (height / window.0) * (width / window.1)
            mask = try Tensor(Self.shiftMask(height: height, width: width, window: window, shift: s), shape: [windows, 1, n, n])
                .to(bias.device)
            shiftMasks[key] = mask
        }
        return try bias + mask.to(bias.dtype)
    }

    public override var extraDescription: String { "dim=\(dim), window=\(window), shift=\(shift), heads=\(headCount)" }

    /// On the padded map: `qkv`, the two attention products within each window (as
    /// "<path>.attention": 2 · tokens · N · C MACs), `proj`; the output is the input's shape.
    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        guard input.count == 4, input[3] == dim else {
            throw ModuleError.inputShape(layer: "ShiftedWindowAttention", path: path, expected: "[B, H, W, \(dim)]", found: input)
        }
        let ph = (input[1] + window.0 - 1) / window.0 * window.0, pw = (input[2] + window.1 - 1) / window.1 * window.1
        let padded = [input[0], ph, pw, dim]
        let projected = try analyze(qkv, padded, path: path, context: &context)
        let prefix = path.isEmpty ? "" : path + "."
        let tokens = input[0] * ph * pw
        context.record(path: prefix + "attention", kind: "scaled_dot_product_attention", input: projected, output: padded,
                       parameters: 0, macs: 2 * tokens * Self.tokens(window) * dim
                           + (context.convention == .ptflopsModules ? tokens * Self.tokens(window) * headCount : 0))
        context.record(path: prefix + "relative_position_bias_table", kind: "Parameter", input: [], output: [],
                       parameters: relativePositionBiasTable.elementCount, macs: 0)
        _ = try analyze(proj, padded, path: path, context: &context)
        return input
    }
}
