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
