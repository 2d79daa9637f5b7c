import CTorch

extension Tensor {
    private func reduce(_ op: Int, _ kind: TensorOperation.Reduction, _ dims: [Int], _ keepDim: Bool) throws -> Tensor {
        let d = dims.map(Int64.init)
        return traced(try owned(ct_reduce(Int32(op), handle, d, Int32(d.count), keepDim)),
                      .reduce(kind, dims: dims, keepDim: keepDim), [self])
    }

    /// Sum over `dims` (all elements when empty).
    public func sum(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_R_SUM, .sum, dims, keepDim) }
    public func mean(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_R_MEAN, .mean, dims, keepDim) }
    /// Maximum value over `dims` (all elements when empty).
    public func amax(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_R_AMAX, .amax, dims, keepDim) }
    public func amin(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_R_AMIN, .amin, dims, keepDim) }
    /// Population variance (unbiased = false).
    public func variance(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_R_VAR, .variance, dims, keepDim) }

    /// Maximum along `dim` with its indices.
    public func max(dim: Int, keepDim: Bool = false) throws -> (values: Tensor, indices: Tensor) {
        var v: OpaquePointer?, i: OpaquePointer?
        try check(ct_max_dim(handle, Int64(dim), keepDim, &v, &i))
        return traced((try owned(v), try owned(i)), .other("max(dim:)"), [self])
    }

    public func min(dim: Int, keepDim: Bool = false) throws -> (values: Tensor, indices: Tensor) {
        var v: OpaquePointer?, i: OpaquePointer?
        try check(ct_min_dim(handle, Int64(dim), keepDim, &v, &i))
        return traced((try owned(v), try owned(i)), .other("min(dim:)"), [self])
    }

    public func argmax(dim: Int, keepDim: Bool = false) throws -> Tensor {
        traced(try owned(ct_argmax(handle, Int64(dim), keepDim)), .other("argmax"), [self])
    }

    /// p-norm over `dims` (all elements when empty).
    public func norm(p: Double = 2, dims: [Int] = [], keepDim: Bool = false) throws -> Tensor {
        let d = dims.map(Int64.init)
        return traced(try owned(ct_norm(handle, p, d, Int32(d.count), keepDim)), .other("norm"), [self])
    }

    /// Sorted values along `dim` and the indices they came from.
    public func sort(dim: Int = -1, descending: Bool = false) throws -> (values: Tensor, indices: Tensor) {
        var v: OpaquePointer?, i: OpaquePointer?
        try check(ct_sort(handle, Int64(dim), descending, &v, &i))
        return traced((try owned(v), try owned(i)), .other("sort"), [self])
    }

    public func topk(_ k: Int, dim: Int = -1, largest: Bool = true) throws -> (values: Tensor, indices: Tensor) {
        var v: OpaquePointer?, i: OpaquePointer?
        try check(ct_topk(handle, Int64(k), Int64(dim), largest, &v, &i))
        return traced((try owned(v), try owned(i)), .other("topk"), [self])
    }
}

extension Functional {
    /// For two [N, K] matrices of projections (on the CPU, no graph): each column's 1-D
    /// optimal-transport cost, `mean_i |sort(a[:, k])_i − sort(b[:, k])_i|^p`, as a [K] tensor.
    /// One fused kernel (values-only sorts, the columns shared between the intra-op threads)
    /// for what `sort`, `sub`, `pow` and `mean` compute one pass at a time.
    public static func slicedCosts(_ a: Tensor, _ b: Tensor, p: Double) throws -> Tensor {
        traced(try owned(ct_sliced_costs(a.handle, b.handle, p)), .other("sliced_costs"), [a, b])
    }
}
