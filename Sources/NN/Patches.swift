import Costs
import Torch

// MARK: - PatchMerging

/// Swin's `PatchMerging` (torchvision): halves the resolution of [..., H, W, C] tokens by
/// concatenating each 2×2 neighbourhood (zero-padded to even H and W) into 4C channels —
/// (even row, even column), (odd, even), (even, odd), (odd, odd) — then `norm` (LayerNorm 4C)
/// and `reduction` (Linear 4C → 2C, no bias). Children registered as torchvision's:
/// `reduction`, then `norm`.
public final class PatchMerging: Module {
    public let dim: Int
    public let reduction: Child<Linear>
    public let norm: Child<Module>

    public init(dim: Int, generator: Generator?) throws {
        self.dim = dim
        reduction = Child("reduction", try Linear(4 * dim, 2 * dim, bias: false, generator: generator))
        norm = Child("norm", try LayerNorm([4 * dim]))
        super.init()
        try register(reduction, norm)
    }

    /// The 2×2 neighbourhoods of [..., H, W, C] as [..., ⌈H/2⌉, ⌈W/2⌉, 4C] (torchvision's
    /// `_patch_merging_pad`).
    public static func merge(_ x: Tensor) throws -> Tensor {
        let shape = x.shape
        guard shape.count >= 3 else {
            throw ModuleError.inputShape(layer: "PatchMerging", path: "", expected: "[..., H, W, C]", found: shape)
        }
        let (h, w, c) = (shape[shape.count - 3], shape[shape.count - 2], shape[shape.count - 1])
        let padded = h % 2 == 0 && w % 2 == 0 ? x : try x.pad([0, 0, 0, w % 2, 0, h % 2])
        let lead = Array(shape.dropLast(3))
        // [..., H/2, 2 (row parity), W/2, 2 (column parity), C]
        let grid = try padded.reshape(lead + [(h + 1) / 2, 2, (w + 1) / 2, 2, c])
        func part(row: Int, column: Int) throws -> Tensor { try grid.select(-2, column).select(-3, row) }
        return try Tensor.cat([part(row: 0, column: 0), part(row: 1, column: 0), part(row: 0, column: 1),
                               part(row: 1, column: 1)], dim: -1)
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        try reduction(norm(Self.merge(x)))
    }

    public override func analyze(_ input: [Int], path: String, context: inout CostContext) throws -> [Int] {
        guard input.count >= 3, input[input.count - 1] == dim else {
            throw ModuleError.inputShape(layer: "PatchMerging", path: path, expected: "[..., H, W, \(dim)]", found: input)
        }
        let merged = Array(input.dropLast(3)) + [(input[input.count - 3] + 1) / 2, (input[input.count - 2] + 1) / 2, 4 * dim]
        let normalized = try analyze(norm, merged, path: path, context: &context)
        return try analyze(reduction, normalized, path: path, context: &context)
    }
}
