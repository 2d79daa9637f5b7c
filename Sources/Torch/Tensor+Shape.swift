import CTorch

extension Tensor {
    public func to(_ dtype: DType) throws -> Tensor {
        traced(try owned(ct_to_dtype(handle, dtype.rawValue)), .toDType(dtype), [self])
    }

    public func contiguous(_ format: MemoryFormat = .contiguous) throws -> Tensor {
        traced(try owned(ct_contiguous(handle, format.rawValue)), .sameValues("contiguous"), [self])
    }

    /// A view or copy with a new shape; one dimension may be -1.
    public func reshape(_ shape: [Int]) throws -> Tensor {
        let d = shape.map(Int64.init)
        return traced(try owned(ct_reshape(handle, d, Int32(d.count))), .reshape(shape), [self])
    }

    public func permute(_ dims: [Int]) throws -> Tensor {
        let d = dims.map(Int64.init)
        return traced(try owned(ct_permute(handle, d, Int32(d.count))), .permute(dims), [self])
    }

    public func transpose(_ d0: Int, _ d1: Int) throws -> Tensor {
        traced(try owned(ct_transpose(handle, Int64(d0), Int64(d1))), .transpose(d0, d1), [self])
    }

    /// The matrix transpose of a 2-D tensor.
    public var t: Tensor { get throws { try transpose(0, 1) } }

    public func flatten(from start: Int = 0, to end: Int = -1) throws -> Tensor {
        traced(try owned(ct_flatten(handle, Int64(start), Int64(end))), .flatten(start: start, end: end), [self])
    }

    public func expand(_ shape: [Int]) throws -> Tensor {
        let d = shape.map(Int64.init)
        return traced(try owned(ct_expand(handle, d, Int32(d.count))), .expand(shape), [self])
    }

    public func unsqueeze(_ dim: Int) throws -> Tensor {
        traced(try owned(ct_unsqueeze(handle, Int64(dim))), .unsqueeze(dim), [self])
    }
    public func squeeze(_ dim: Int) throws -> Tensor {
        traced(try owned(ct_squeeze(handle, Int64(dim))), .squeeze(dim), [self])
    }

    public static func cat(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        let handles: [OpaquePointer?] = tensors.map { $0.handle }
        return try withExtendedLifetime(tensors) {
            traced(try owned(ct_cat(handles, Int32(handles.count), Int64(dim))), .cat(dim: dim), tensors)
        }
    }

    public static func stack(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
        let handles: [OpaquePointer?] = tensors.map { $0.handle }
        return try withExtendedLifetime(tensors) {
            traced(try owned(ct_stack(handles, Int32(handles.count), Int64(dim))), .stack(dim: dim), tensors)
        }
    }

    /// `length` entries of `dim` from `start` (a view).
    public func narrow(_ dim: Int, start: Int, length: Int) throws -> Tensor {
        traced(try owned(ct_narrow(handle, Int64(dim), Int64(start), Int64(length))),
               .narrow(dim: dim, start: start, length: length), [self])
    }

    /// Entry `index` of `dim`, removing that dimension (a view).
    public func select(_ dim: Int, _ index: Int) throws -> Tensor {
        traced(try owned(ct_select(handle, Int64(dim), Int64(index))), .select(dim: dim, index: index), [self])
    }

    public func indexSelect(_ dim: Int, _ index: Tensor) throws -> Tensor {
        traced(try owned(ct_index_select(handle, Int64(dim), index.handle)), .indexSelect(dim: dim), [self, index])
    }

    public func gather(_ dim: Int, _ index: Tensor) throws -> Tensor {
        traced(try owned(ct_gather(handle, Int64(dim), index.handle)), .gather(dim: dim), [self, index])
    }

    /// Constant padding, PyTorch's `F.pad` order: (last-dim left, last-dim right, …).
    public func pad(_ amounts: [Int], value: Double = 0) throws -> Tensor {
        let p = amounts.map(Int64.init)
        return traced(try owned(ct_pad(handle, p, Int32(p.count), value)), .pad(amounts, value: value), [self])
    }

    public func roll(shifts: [Int], dims: [Int]) throws -> Tensor {
        guard shifts.count == dims.count else { throw TorchError("roll: \(shifts.count) shifts for \(dims.count) dims") }
        let s = shifts.map(Int64.init), d = dims.map(Int64.init)
        return traced(try owned(ct_roll(handle, s, d, Int32(d.count))), .roll(shifts: shifts, dims: dims), [self])
    }

    public func flip(_ dims: [Int]) throws -> Tensor {
        let d = dims.map(Int64.init)
        return traced(try owned(ct_flip(handle, d, Int32(d.count))), .flip(dims), [self])
    }

    public func clone() throws -> Tensor { traced(try owned(ct_clone(handle)), .sameValues("clone"), [self]) }

    /// The same data, cut from the autograd graph.
    public func detach() throws -> Tensor { traced(try owned(ct_detach(handle)), .sameValues("detach"), [self]) }

    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        traced(try owned(ct_where(condition.handle, a.handle, b.handle)), .where, [condition, a, b])
    }
}
