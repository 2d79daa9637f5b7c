import CTorch

/// An error raised by libtorch (its message, without the C++ backtrace) or by this binding.
public struct TorchError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// The error the shim recorded for the calling thread.
    static func last() -> TorchError {
        let text = String(cString: ct_last_error())
        ct_clear_error()
        return TorchError(text.isEmpty ? "libtorch call failed without a message" : text)
    }
}

/// Turns a shim status code into a thrown error.
@inline(__always)
func check(_ status: Int32) throws {
    if status < 0 { throw TorchError.last() }
}

/// Takes ownership of a handle returned by the shim, or throws its error.
@inline(__always)
func owned(_ handle: OpaquePointer?) throws -> Tensor {
    guard let handle else { throw TorchError.last() }
    return Tensor(owning: handle)
}
