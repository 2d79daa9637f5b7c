import CTorch

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
