import CTorch

extension Tensor {
    private func reduce(_ op: Int, _ dims: [Int], _ keepDim: Bool) throws -> Tensor {
        let d = dims.map(Int64.init)
        return try owned(ct_reduce(Int32(op), handle, d, Int32(d.count), keepDim))
    }

    /// Sum over `dims` (all elements when empty).
    public func sum(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_R_SUM, dims, keepDim) }
    public func mean(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_R_MEAN, dims, keepDim) }
    /// Maximum value over `dims` (all elements when empty).
    public func amax(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_R_AMAX, dims, keepDim) }
    public func amin(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_R_AMIN, dims, keepDim) }
    /// Population variance (unbiased = false).
    public func variance(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_R_VAR, dims, keepDim) }

    /// Maximum along `dim` with its indices.
    public func max(dim: Int, keepDim: Bool = false) throws -> (values: Tensor, indices: Tensor) {
        var v: OpaquePointer?, i: OpaquePointer?
        try check(ct_max_dim(handle, Int64(dim), keepDim, &v, &i))
        return (try owned(v), try owned(i))
    }

    public func min(dim: Int, keepDim: Bool = false) throws -> (values: Tensor, indices: Tensor) {
        var v: OpaquePointer?, i: OpaquePointer?
        try check(ct_min_dim(handle, Int64(dim), keepDim, &v, &i))
        return (try owned(v), try owned(i))
    }

    public func argmax(dim: Int, keepDim: Bool = false) throws -> Tensor {
        try owned(ct_argmax(handle, Int64(dim), keepDim))
    }

    /// p-norm over `dims` (all elements when empty).
    public func norm(p: Double = 2, dims: [Int] = [], keepDim: Bool = false) throws -> Tensor {
        let d = dims.map(Int64.init)
        return try owned(ct_norm(handle, p, d, Int32(d.count), keepDim))
    }

    /// Sorted values along `dim` and the indices they came from.
    public func sort(dim: Int = -1, descending: Bool = false) throws -> (values: Tensor, indices: Tensor) {
        var v: OpaquePointer?, i: OpaquePointer?
        try check(ct_sort(handle, Int64(dim), descending, &v, &i))
        return (try owned(v), try owned(i))
    }

    public func topk(_ k: Int, dim: Int = -1, largest: Bool = true) throws -> (values: Tensor, indices: Tensor) {
        var v: OpaquePointer?, i: OpaquePointer?
        try check(ct_topk(handle, Int64(k), Int64(dim), largest, &v, &i))
        return (try owned(v), try owned(i))
    }
}
