import CTorch

/// Process-wide libtorch settings: threads, version, capabilities, global seed, grad mode.
public enum Runtime {
    /// libtorch's version, e.g. "2.13.0".
    public static var version: String { String(cString: ct_version()) }

    /// libtorch's build configuration (`at::show_config()`).
    public static var buildConfiguration: String { String(cString: ct_config()) }

    /// Number of CPUs this process may run on.
    public static var activeCores: Int { Int(ct_active_cores()) }

    /// Intra-op threads used by libtorch. Starts at `activeCores` (libtorch alone would take
    /// half of them); setting it applies to every thread that calls into libtorch.
    public static var threadCount: Int { Int(ct_get_num_threads()) }

    public static func setThreadCount(_ count: Int) throws {
        guard (1...1024).contains(count) else { throw TorchError("thread count must be in 1...1024, got \(count)") }
        try check(ct_set_num_threads(Int32(count)))
    }

    public static var hasMKLDNN: Bool { ct_has_mkldnn() }
    public static var hasOpenMP: Bool { ct_has_openmp() }

    /// The BLAS libtorch was built against, as its build configuration reports it.
    public static var blas: String {
        let config = Array(buildConfiguration.utf8)
        let key = Array("BLAS_INFO=".utf8)
        guard config.count >= key.count else { return "unknown" }
        for start in 0...(config.count - key.count) where Array(config[start..<start + key.count]) == key {
            let value = config[(start + key.count)...].prefix { $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") }
            return String(decoding: value, as: UTF8.self)
        }
        return "unknown"
    }

    /// Seeds libtorch's global generator (prefer explicit `Generator`s).
    public static func manualSeed(_ seed: UInt64) { ct_manual_seed(seed) }

    /// A one-paragraph summary of the engine, for `lacoot info` and the self-check.
    public static var summary: String {
        "libtorch \(version), \(threadCount) intra-op threads of \(activeCores) active cores, "
            + "oneDNN \(hasMKLDNN ? "yes" : "no"), OpenMP \(hasOpenMP ? "yes" : "no"), BLAS \(blas), "
            + "CUDA \(Device.isCUDAAvailable ? "\(Device.cudaDeviceCount) device(s)" : "no"), "
            + "native bf16 \(Precision.cpuHasNativeBF16 ? "yes" : "no (emulated)"), "
            + "CPU allocator \(allocator.map { "caching (up to \($0.limitBytes >> 20) MiB idle)" } ?? "libtorch's default")"
    }

    /// The caching CPU allocator's counters (`Sources/CTorch/caching_allocator.cpp`): blocks
    /// of 128 KiB or more that a step frees are kept and reused, so steps do not fault their
    /// memory in again. Installed when the library loads unless `LACOOT_CACHING_ALLOCATOR=0`.
    public struct AllocatorStatistics: Sendable, Equatable {
        /// Allocations served from the cache.
        public let hits: Int
        /// Cacheable allocations that found no idle block.
        public let misses: Int
        /// Bytes idle in the cache now.
        public let cachedBytes: Int
        /// The most it keeps idle (a quarter of physical memory, at most 8 GiB).
        public let limitBytes: Int
    }

    /// The caching allocator's counters; nil when it is not libtorch's CPU allocator.
    public static var allocator: AllocatorStatistics? {
        var stats = ct_allocator_stats()
        guard ct_allocator_statistics(&stats) else { return nil }
        return AllocatorStatistics(hits: Int(stats.hits), misses: Int(stats.misses), cachedBytes: Int(stats.cached_bytes),
                                   limitBytes: Int(stats.limit_bytes))
    }

    /// Gives every idle cached block back to the system.
    public static func emptyAllocatorCache() { ct_allocator_empty_cache() }
}

/// Runs `body` with gradient recording off (like `torch.no_grad()`), restoring the mode after.
/// Grad mode is per thread.
public func withNoGrad<T>(_ body: () throws -> T) rethrows -> T {
    let previous = ct_set_grad_enabled(false)
    defer { _ = ct_set_grad_enabled(previous) }
    return try body()
}

/// Whether operations on this thread record gradients.
public var isGradEnabled: Bool { ct_is_grad_enabled() }
