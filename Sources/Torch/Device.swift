import CTorch

/// Where tensors live and run: the CPU, or a CUDA GPU when the libtorch built against has CUDA.
///
/// ```swift
/// let device = try Device.resolve("auto")     // .cuda(0) where a GPU is visible, else .cpu
/// let x = try images.to(device)
/// ```
public enum Device: Sendable, Equatable, CustomStringConvertible {
    case cpu
    case cuda(Int)

    /// Whether this process sees a CUDA GPU (false with a CPU-only libtorch).
    public static var isCUDAAvailable: Bool { ct_cuda_is_available() }

    /// Number of CUDA GPUs visible (0 with a CPU-only libtorch).
    public static var cudaDeviceCount: Int { Int(ct_cuda_device_count()) }

    /// What a device name asks for, before checking what this machine has.
    public enum Request: Sendable, Equatable {
        case auto, cpu, cuda(Int)

        /// `"auto"`, `"cpu"`, `"cuda"` or `"cuda:N"`; nil for anything else.
        public init?(_ name: String) {
            switch name {
            case "auto": self = .auto
            case "cpu": self = .cpu
            case "cuda": self = .cuda(0)
            default:
                guard name.hasPrefix("cuda:"), let index = Int(name.dropFirst(5)), index >= 0 else { return nil }
                self = .cuda(index)
            }
        }
    }

    /// `"auto"` (CUDA when available, else the CPU), `"cpu"`, `"cuda"` or `"cuda:N"`.
    public static func resolve(_ name: String) throws -> Device {
        guard let request = Request(name) else {
            throw TorchError("unknown device \"\(name)\" (use auto, cpu, cuda or cuda:N)")
        }
        switch request {
        case .auto: return isCUDAAvailable ? .cuda(0) : .cpu
        case .cpu: return .cpu
        case let .cuda(index):
            guard isCUDAAvailable else {
                throw TorchError("device \(name): CUDA is not available (this libtorch is CPU-only or no GPU is visible); "
                    + "use --device cpu, or build against a CUDA libtorch (README: Other libtorch builds)")
            }
            guard index < cudaDeviceCount else {
                throw TorchError("device \(name): only \(cudaDeviceCount) CUDA device(s) visible")
            }
            return .cuda(index)
        }
    }

    var typeCode: Int32 {
        switch self {
        case .cpu: Int32(CT_DEVICE_CPU)
        case .cuda: Int32(CT_DEVICE_CUDA)
        }
    }

    var index: Int32 {
        switch self {
        case .cpu: -1
        case let .cuda(i): Int32(i)
        }
    }

    public var description: String {
        switch self {
        case .cpu: "cpu"
        case let .cuda(i): "cuda:\(i)"
        }
    }
}

extension Tensor {
    /// The device this tensor lives on.
    public var device: Device {
        var index: Int32 = -1
        let type = ct_device_of(handle, &index)
        return type == Int32(CT_DEVICE_CUDA) ? .cuda(Int(Swift.max(index, 0))) : .cpu
    }

    /// This tensor on `device` (itself when already there). A leaf that requires grad stays a
    /// leaf that requires grad (a parameter moved with its module).
    public func to(_ device: Device, nonBlocking: Bool = false) throws -> Tensor {
        if device == self.device { return self }
        return traced(try owned(ct_to_device(handle, device.typeCode, device.index, nonBlocking)),
                      .sameValues("to(device:)"), [self])
    }
}
