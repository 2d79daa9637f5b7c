import CTorch

/// A libtorch tensor. The handle is released when the object goes away.
///
/// Every operation that can fail throws a `TorchError` carrying libtorch's message, e.g.
/// ```swift
/// let x = try Tensor.randn([2, 3], generator: Generator(seed: 0))
/// let y = try (x * 2 + 1).relu()
/// print(try y.floats())
/// ```
public final class Tensor: @unchecked Sendable {
    let handle: OpaquePointer

    init(owning handle: OpaquePointer) { self.handle = handle }

    deinit { ct_free(handle) }

    // MARK: metadata

    public var rank: Int { Int(ct_dim(handle)) }

    public var shape: [Int] {
        var sizes = [Int64](repeating: 0, count: 16)
        let n = Int(ct_sizes(handle, &sizes, 16))
        return sizes.prefix(n).map(Int.init)
    }

    public var strides: [Int] {
        var values = [Int64](repeating: 0, count: 16)
        let n = Int(ct_strides(handle, &values, 16))
        return values.prefix(Swift.max(n, 0)).map(Int.init)
    }

    public var elementCount: Int { Int(ct_numel(handle)) }

    /// The address of the first element of a contiguous tensor (nil otherwise): for telling
    /// whether two tensors use the same memory.
    public var dataAddress: UInt? { ct_data_ptr(handle).map { UInt(bitPattern: $0) } }

    public var dtype: DType {
        let raw = ct_dtype(handle)
        return DType(rawValue: raw) ?? .float32
    }

    public func isContiguous(_ format: MemoryFormat = .contiguous) -> Bool {
        ct_is_contiguous(handle, format.rawValue)
    }

    /// Whether autograd tracks operations on this tensor.
    public var requiresGrad: Bool { ct_requires_grad(handle) }

    @discardableResult
    public func requiresGrad(_ on: Bool) throws -> Tensor {
        try check(ct_set_requires_grad(handle, on))
        return self
    }

    // MARK: from Swift arrays

    /// A tensor holding a copy of `values` with the given shape.
    public convenience init<S: TensorScalar>(_ values: [S], shape: [Int]) throws {
        let count = shape.reduce(1, *)
        guard count == values.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw TorchError("shape \(shape) holds \(count) elements but \(values.count) values were given")
        }
        let dims = shape.map(Int64.init)
        let h = values.withUnsafeBytes { raw in
            ct_from_data(raw.baseAddress, dims, Int32(dims.count), S.dtype.rawValue)
        }
        guard let h else { throw TorchError.last() }
        self.init(owning: h)
    }

    /// A tensor holding a copy of raw little-endian bytes of `dtype` elements.
    public convenience init(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) throws {
        let count = shape.reduce(1, *)
        guard count * dtype.byteCount == bytes.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw TorchError("shape \(shape) of \(dtype) needs \(count * dtype.byteCount) bytes, got \(bytes.count)")
        }
        let dims = shape.map(Int64.init)
        guard let h = ct_from_data(bytes.baseAddress, dims, Int32(dims.count), dtype.rawValue) else {
            throw TorchError.last()
        }
        self.init(owning: h)
    }

    /// A 0-dimensional tensor.
    public convenience init(scalar: Float) throws { try self.init([scalar], shape: []) }

    // MARK: to Swift arrays

    /// The elements in row-major order, converted to `S`'s dtype when needed.
    public func values<S: TensorScalar>(as type: S.Type = S.self) throws -> [S] {
        let source = dtype == S.dtype ? self : try to(S.dtype)
        let count = source.elementCount
        var out = [S](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        try out.withUnsafeMutableBytes { raw in
            try check(ct_copy_data(source.handle, raw.baseAddress, raw.count))
        }
        return out
    }

    public func floats() throws -> [Float] { try values(as: Float.self) }
    public func doubles() throws -> [Double] { try values(as: Double.self) }
    public func int64s() throws -> [Int64] { try values(as: Int64.self) }
    public func uint8s() throws -> [UInt8] { try values(as: UInt8.self) }
    public func bools() throws -> [Bool] { try values(as: Bool.self) }

    /// The raw bytes in row-major order (for checkpoints).
    public func bytes() throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: elementCount * dtype.byteCount)
        try out.withUnsafeMutableBytes { raw in
            try check(ct_copy_data(handle, raw.baseAddress, raw.count))
        }
        return out
    }

    /// The value of a one-element tensor.
    public func item() throws -> Double {
        let v = ct_item(handle)
        if v.isNaN {
            let message = String(cString: ct_last_error())
            if !message.isEmpty { throw TorchError.last() }
        }
        return v
    }

    public func float() throws -> Float { Float(try item()) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview: String
        if elementCount <= 8, let v = try? doubles() {
            preview = " " + v.map { "\($0)" }.joined(separator: ", ")
        } else {
            preview = ""
        }
        return "Tensor(\(dtype), \(shape))\(preview)"
    }
}
