import CTorch

/// A group of `worldSize` processes that sum, broadcast and gather tensors: Gloo over TCP for
/// CPU tensors, NCCL for CUDA tensors (with a CUDA libtorch).
public final class ProcessGroup: @unchecked Sendable {
    public enum Backend: String, Sendable {
        case gloo, nccl
    }

    let handle: OpaquePointer
    public let rank: Int
    public let worldSize: Int
    /// Keeps the store alive as long as the group.
    public let store: RendezvousStore

    /// Joins the group; every rank calls this with the same `worldSize`. `deviceHost` is the
    /// address the other ranks reach this one at (nil: the host name's address; Gloo only).
    public init(store: RendezvousStore, rank: Int, worldSize: Int, timeoutSeconds: Double, deviceHost: String? = nil,
                backend: Backend = .gloo) throws {
        let timeout = Int64(timeoutSeconds * 1000)
        let made = backend == .gloo ? ct_group_gloo(store.handle, Int32(rank), Int32(worldSize), timeout, deviceHost)
            : ct_group_nccl(store.handle, Int32(rank), Int32(worldSize), timeout)
        guard let h = made else { throw TorchError.last() }
        handle = h
        self.rank = rank
        self.worldSize = worldSize
        self.store = store
    }

    deinit { ct_group_free(handle) }

    /// Sums `tensors` over the ranks in place (flattened into buckets of at most `bucketBytes`,
    /// all in flight together), then divides them by `divisor` (the world size averages).
    public func allReduce(_ tensors: [Tensor], bucketBytes: Int = 25 << 20, divisor: Double = 1) throws {
        var handles: [OpaquePointer?] = tensors.map { $0.handle }
        try check(ct_group_allreduce(handle, &handles, Int32(handles.count), Int64(bucketBytes), divisor))
    }

    /// Overwrites `tensors` on every rank with rank `root`'s.
    public func broadcast(_ tensors: [Tensor], root: Int = 0) throws {
        var handles: [OpaquePointer?] = tensors.map { $0.handle }
        try check(ct_group_broadcast(handle, &handles, Int32(handles.count), Int32(root)))
    }

    /// Every rank's `tensor` (same shape on every rank) concatenated along dimension 0, in rank
    /// order; no gradient flows through it.
    public func allGather(_ tensor: Tensor) throws -> Tensor {
        try owned(ct_group_allgather(handle, tensor.handle))
    }

    /// Returns once every rank has called it.
    public func barrier() throws { try check(ct_group_barrier(handle)) }

    /// Batch normalization in training mode with the mean and variance of the batch of all the
    /// ranks together (SyncBatchNorm); gradients flow to `x`, `weight` and `bias`.
    public func syncBatchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
                              momentum: Double, eps: Double) throws -> Tensor {
        try owned(ct_sync_batch_norm(handle, x.handle, weight?.handle, bias?.handle, runningMean?.handle,
                                     runningVar?.handle, momentum, eps))
    }
}
