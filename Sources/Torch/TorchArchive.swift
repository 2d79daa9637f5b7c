import CTorch

/// A PyTorch zip archive (what `torch.save` writes), read record by record with libtorch's own
/// reader. A record larger than the file is refused before anything is allocated.
public final class TorchArchive {
    private let handle: OpaquePointer
    public let path: String

    /// Opens `path`; throws one line for a missing file, a non-zip or a truncated archive.
    public init(path: String) throws {
        _ = try ZipDirectory.entries(of: path)   // bounds every record before libtorch allocates one
        guard let h = ct_archive_open(path) else { throw TorchError.last() }
        handle = h
        self.path = path
    }

    deinit { ct_archive_free(handle) }

    /// The record names ("data.pkl", "data/0", …), without the archive's folder prefix.
    public func recordNames() throws -> [String] {
        let length = ct_archive_names(handle, nil, 0)
        guard length >= 0 else { throw TorchError.last() }
        var buffer = [CChar](repeating: 0, count: Int(length) + 1)
        guard ct_archive_names(handle, &buffer, Int64(buffer.count)) == length else { throw TorchError.last() }
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.isEmpty ? [] : text.split(separator: "\n").map(String.init)
    }

    /// The size of record `name` in bytes.
    public func size(of name: String) throws -> Int {
        let n = ct_archive_record_size(handle, name)
        guard n >= 0 else { throw TorchError.last() }
        return Int(n)
    }

    /// The bytes of record `name`.
    public func read(_ name: String) throws -> [UInt8] {
        let n = try size(of: name)
        var bytes = [UInt8](repeating: 0, count: n)
        let got = bytes.withUnsafeMutableBytes { ct_archive_read(handle, name, $0.baseAddress, Int64(n)) }
        guard got == Int64(n) else { throw got < 0 ? TorchError.last() : TorchError("\(path): record \(name) is short") }
        return bytes
    }
}

extension Tensor {
    /// A contiguous copy of the view `as_strided(size, stride, offset)` of this tensor's
    /// elements; the caller has checked that the view stays inside them.
    public func asStridedCopy(shape: [Int], strides: [Int], offset: Int) throws -> Tensor {
        precondition(shape.count == strides.count)
        let sizes = shape.map(Int64.init), steps = strides.map(Int64.init)
        guard let h = ct_as_strided_copy(handle, sizes, steps, Int32(sizes.count), Int64(offset)) else { throw TorchError.last() }
        return Tensor(owning: h)
    }
}
