import CTorch

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
