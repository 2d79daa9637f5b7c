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
            + "native bf16 \(Precision.cpuHasNativeBF16 ? "yes" : "no (emulated)")"
    }
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
