import CTorch

extension Tensor {
    private static func dims(_ shape: [Int]) -> [Int64] { shape.map(Int64.init) }

    public static func empty(_ shape: [Int], dtype: DType = .float32) throws -> Tensor {
        let d = dims(shape)
        return try owned(ct_empty(d, Int32(d.count), dtype.rawValue))
    }

    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32) throws -> Tensor {
        let d = dims(shape)
        return try owned(ct_full(d, Int32(d.count), value, dtype.rawValue))
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32) throws -> Tensor {
        try full(shape, 0, dtype: dtype)
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32) throws -> Tensor {
        try full(shape, 1, dtype: dtype)
    }

    /// Values `start, start+step, …` below `end`.
    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1,
                              dtype: DType = .int64) throws -> Tensor {
        try owned(ct_arange(start, end, step, dtype.rawValue))
    }

    /// A scalar tensor with `value`.
    public static func scalar(_ value: Double, dtype: DType = .float32) throws -> Tensor {
        try full([], value, dtype: dtype)
    }

    public func zerosLike() throws -> Tensor { try Tensor.zeros(shape, dtype: dtype) }
    public func onesLike() throws -> Tensor { try Tensor.ones(shape, dtype: dtype) }

    // MARK: random (pass a seeded generator; nil uses libtorch's global one)

    /// Uniform on [0, 1).
    public static func rand(_ shape: [Int], dtype: DType = .float32, generator: Generator?) throws -> Tensor {
        let d = dims(shape)
        return try owned(ct_rand(d, Int32(d.count), dtype.rawValue, generator?.handle))
    }

    /// Standard normal.
    public static func randn(_ shape: [Int], dtype: DType = .float32, generator: Generator?) throws -> Tensor {
        let d = dims(shape)
        return try owned(ct_randn(d, Int32(d.count), dtype.rawValue, generator?.handle))
    }

    /// Integers in [low, high), int64.
    public static func randint(low: Int64, high: Int64, shape: [Int], generator: Generator?) throws -> Tensor {
        let d = dims(shape)
        return try owned(ct_randint(low, high, d, Int32(d.count), generator?.handle))
    }

    /// A random permutation of 0..<n, int64.
    public static func randperm(_ n: Int, generator: Generator?) throws -> Tensor {
        try owned(ct_randperm(Int64(n), generator?.handle))
    }

    /// Fills in place with uniform values on [from, to).
    public func uniform_(from: Double, to: Double, generator: Generator?) throws {
        tracedInPlace("uniform_", self, [])
        try check(ct_uniform_(handle, from, to, generator?.handle))
    }

    /// Fills in place with normal values.
    public func normal_(mean: Double = 0, std: Double = 1, generator: Generator?) throws {
        tracedInPlace("normal_", self, [])
        try check(ct_normal_(handle, mean, std, generator?.handle))
    }

    /// 1 with probability given by each element, else 0.
    public func bernoulli(generator: Generator?) throws -> Tensor {
        traced(try owned(ct_bernoulli(handle, generator?.handle)), .other("bernoulli"), [self])
    }
}
