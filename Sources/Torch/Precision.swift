import CTorch

/// The arithmetic a model trains and runs in.
///
/// `.bf16` is mixed precision as `torch.autocast(dtype=torch.bfloat16)` does it: convolutions
/// and matrix products run in bfloat16; everything else (BatchNorm statistics, softmax, the
/// losses, LaCoOT's distance, which the regularizer runs outside autocast) keeps float32, and
/// weights, gradients, optimizer state and checkpoints stay float32.
public enum Precision: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case fp32
    case bf16

    public var description: String { rawValue }

    /// Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); elsewhere oneDNN
    /// emulates it — same numbers, slower than float32.
    public static var cpuHasNativeBF16: Bool { ct_cpu_has_native_bf16() }

    /// A warning to show before running in this precision on `device`, or nil.
    public func warning(on device: Device) -> String? {
        guard self == .bf16, device == .cpu, !Self.cpuHasNativeBF16 else { return nil }
        return "--precision bf16: this CPU has no native bfloat16 (no avx512_bf16/amx_bf16 flag); "
            + "it runs emulated — same accuracy, slower than fp32"
    }
}

/// Runs `body` with autocast on for `device` when `precision` is `.bf16` (per thread, nestable),
/// and as is for `.fp32`.
public func withPrecision<T>(_ precision: Precision, device: Device = .cpu, _ body: () throws -> T) throws -> T {
    guard precision == .bf16 else { return try body() }
    let previous = ct_autocast_set(device.typeCode, true, DType.bfloat16.rawValue)
    try check(previous)
    defer { _ = ct_autocast_set(device.typeCode, previous == 1, DType.bfloat16.rawValue) }
    return try body()
}

/// Runs `body` in float32 even inside a bf16 scope (autocast off for `device`), as the
/// LaCoOT distance and the losses need.
public func withFullPrecision<T>(device: Device = .cpu, _ body: () throws -> T) throws -> T {
    guard ct_autocast_enabled(device.typeCode) else { return try body() }
    let previous = ct_autocast_set(device.typeCode, false, DType.bfloat16.rawValue)
    try check(previous)
    defer { _ = ct_autocast_set(device.typeCode, true, DType.bfloat16.rawValue) }
    return try body()
}
