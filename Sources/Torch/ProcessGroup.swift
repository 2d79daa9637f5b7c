import CTorch

/// The rendezvous of a data-parallel run: libtorch's TCPStore. Rank 0 serves it on `port`;
/// the other ranks connect to `host:port` (a server on port 0 gets a free one: ``port``).
public final class RendezvousStore: @unchecked Sendable {
    let handle: OpaquePointer
    public let host: String
    public let port: Int

    /// Whether this libtorch build can run data-parallel (the shim was compiled with Gloo's headers).
    public static var isAvailable: Bool { ct_distributed_available() }

    public init(host: String, port: Int, isServer: Bool, worldSize: Int, timeoutSeconds: Double) throws {
        guard let h = ct_store_open(host, Int32(port), isServer, Int32(worldSize), Int64(timeoutSeconds * 1000)) else {
            throw TorchError.last()
        }
        handle = h
        self.host = host
        self.port = Int(ct_store_port(h))
    }

    deinit { ct_store_free(handle) }

    /// Adds `delta` to the counter `key` and returns its new value (`delta` 0 reads it).
    public func add(_ key: String, _ delta: Int) throws -> Int {
        let value = ct_store_add(handle, key, Int64(delta))
        guard value != Int64.min else { throw TorchError.last() }
        return Int(value)
    }
}

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

/// The gradient all-reduce overlapped with the backward pass (DDP's reducer): hooks on the
/// parameters launch each bucket's all-reduce as soon as its gradients exist; ``finish(divisor:)``,
/// after backward, waits for them and writes each gradient's sum ÷ divisor into `.grad`.
public final class GradientOverlap: @unchecked Sendable {
    let handle: OpaquePointer
    /// Keeps the group alive as long as the hooks.
    public let group: ProcessGroup

    /// `parameters` in forward order (the model's), each requiring a gradient.
    public init(group: ProcessGroup, parameters: [Tensor], bucketBytes: Int = 25 << 20) throws {
        var handles: [OpaquePointer?] = parameters.map { $0.handle }
        guard let h = ct_overlap_attach(group.handle, &handles, Int32(handles.count), Int64(bucketBytes)) else {
            throw TorchError.last()
        }
        handle = h
        self.group = group
    }

    /// Removes the hooks.
    deinit { ct_overlap_free(handle) }

    public func finish(divisor: Double) throws { try check(ct_overlap_finish(handle, divisor)) }
}

/// A background heartbeat: ends the process with one line naming the rank when a peer stops
/// beating (died or hung) for `staleSeconds`, or when rank 0's store is gone.
public final class RankWatchdog: @unchecked Sendable {
    private var handle: OpaquePointer?

    public init(store: RendezvousStore, rank: Int, worldSize: Int, intervalSeconds: Double = 1, staleSeconds: Double) throws {
        guard let h = ct_watchdog_start(store.host, Int32(store.port), Int32(rank), Int32(worldSize),
                                        Int64(intervalSeconds * 1000), Int64(staleSeconds * 1000)) else {
            throw TorchError.last()
        }
        handle = h
    }

    /// Stops the heartbeat (before a clean exit: call it after a barrier on every rank).
    public func stop() {
        ct_watchdog_stop(handle)
        handle = nil
    }

    deinit { stop() }
}
