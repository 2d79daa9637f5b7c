import CTorch

/// A seeded random generator (libtorch's CPU generator, Philox/MT as PyTorch's).
/// Every random draw in the project takes one, so runs reproduce.
public final class Generator: @unchecked Sendable {
    let handle: OpaquePointer

    public init(seed: UInt64) throws {
        guard let h = ct_generator_new(seed) else { throw TorchError.last() }
        handle = h
    }

    deinit { ct_generator_free(handle) }

    /// The generator's full state (a uint8 tensor), for checkpoints.
    public func state() throws -> Tensor { try owned(ct_generator_get_state(handle)) }

    public func setState(_ state: Tensor) throws {
        try check(ct_generator_set_state(handle, state.handle))
    }

    /// Draws a random 64-bit value (for deriving sub-seeds).
    public func nextSeed() throws -> UInt64 {
        let t = try Tensor.randint(low: 0, high: Int64.max, shape: [1], generator: self)
        return UInt64(try t.int64s()[0])
    }
}
