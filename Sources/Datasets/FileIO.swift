#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CDataCodecs

/// Small POSIX helpers; the Foundation type `Data` is avoided on purpose (this module is
/// itself called `Data`).
enum FileIO {
    enum Kind { case missing, file, directory }

    static func kind(_ path: String) -> Kind {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing }
        return (st.st_mode & S_IFMT) == S_IFDIR ? .directory : .file
    }

    static func isFile(_ path: String) -> Bool { kind(path) == .file }
    static func isDirectory(_ path: String) -> Bool { kind(path) == .directory }

    static func errnoText() -> String { String(cString: strerror(errno)) }

    /// The whole file as bytes. `hint` goes into the error when the file is missing.
    static func read(_ path: String, hint: String = "check the path") throws -> [UInt8] {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat below rejects it
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw DataError.missingPath(path: path, hint: hint) }
            throw DataError.unreadable(path: path, reason: errnoText())
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw DataError.unreadable(path: path, reason: errnoText()) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw DataError.unreadable(path: path, reason: "it is a folder, a file was expected")
        case S_IFIFO: throw DataError.unreadable(path: path, reason: "it is a FIFO (named pipe), a regular file was expected")
        default: throw DataError.unreadable(path: path, reason: "it is not a regular file (a device or socket)")
        }
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        var failure: String?
        bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            while done < size {
                let n = Glibc.read(fd, base + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errnoText()
                    return
                }
                if n == 0 { break }
                done += n
            }
        }
        if let failure { throw DataError.unreadable(path: path, reason: failure) }
        if done < size { bytes.removeLast(size - done) }
        return bytes
    }

    /// Writes bytes to a file, replacing it.
    static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw DataError.unreadable(path: path, reason: errnoText()) }
        defer { close(fd) }
        var done = 0
        var failure: String?
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            while done < raw.count {
                let n = Glibc.write(fd, base + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errnoText()
                    return
                }
                done += n
            }
        }
        if let failure { throw DataError.unreadable(path: path, reason: failure) }
    }

    /// The entries of a folder (names only, without "." and ".."), sorted bytewise.
    static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            if errno == ENOENT { throw DataError.missingPath(path: path, hint: "check the path") }
            throw DataError.unreadable(path: path, reason: errnoText())
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [UInt8] in
                let all = raw.bindMemory(to: UInt8.self)
                return Array(all[..<(all.firstIndex(of: 0) ?? all.count)])
            }
            // a name that is not UTF-8 cannot be opened again through a String: report it, never skip it
            guard let name = String(validating: bytes, as: UTF8.self) else {
                let shown = bytes.map { $0 < 0x80 && $0 >= 0x20 ? String(UnicodeScalar($0)) : String(format: "\\x%02X", $0) }.joined()
                throw DataError.unreadable(path: join(path, shown), reason: "the file name is not valid UTF-8; rename it")
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    static func join(_ a: String, _ b: String) -> String {
        if a.isEmpty { return b }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }

    /// Whether the bytes start with the gzip magic number.
    static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B }

    /// Inflates gzip (or zlib) bytes read from `path`; with `limit`, a stream that inflates to
    /// more than `limit` bytes is refused as corrupt before more is allocated.
    static func gunzip(_ bytes: [UInt8], path: String, limit: Int? = nil) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var outLength = 0
        var offset = 0
        var err = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeBufferPointer { inBuf in
            cdc_inflate_limited(inBuf.baseAddress, inBuf.count, max(0, limit ?? Int.max),
                                &out, &outLength, &offset, &err, err.count)
        }
        defer { cdc_free(out) }
        let message = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if rc != 0, let limit, message.hasPrefix("the stream inflates to more than") {
            throw DataError.inflatesTooMuch(file: path, compressed: bytes.count, limit: limit)
        }
        switch rc {
        case 0:
            guard let out else { return [] }
            return [UInt8](UnsafeBufferPointer(start: out, count: outLength))
        case -1:
            throw DataError.truncated(file: path, offset: offset, needed: nil)
        default:
            throw DataError.corrupt(file: path, offset: offset, reason: message)
        }
    }

    /// Compresses bytes as gzip (for writing fixtures).
    static func gzip(_ bytes: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var outLength = 0
        var err = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeBufferPointer { cdc_gzip($0.baseAddress, $0.count, level, &out, &outLength, &err, err.count) }
        defer { cdc_free(out) }
        guard rc == 0, let out else { throw DataError.invalidArgument("gzip failed: \(ImageCodec.message(err))") }
        return [UInt8](UnsafeBufferPointer(start: out, count: outLength))
    }

    /// Reads a file and inflates it when it is gzipped, within ``inflationLimit(compressed:)``.
    static func readMaybeGzip(_ path: String, hint: String) throws -> [UInt8] {
        let raw = try read(path, hint: hint)
        return isGzip(raw) ? try gunzip(raw, path: path, limit: inflationLimit(compressed: raw.count)) : raw
    }

    /// How far a gzipped data file may inflate: 64 MiB, or 100 times its compressed size (real
    /// datasets inflate 2–5 times; a decompression bomb a thousand times), at most 4 GiB.
    static func inflationLimit(compressed: Int) -> Int {
        min(4 << 30, max(64 << 20, compressed.multipliedReportingOverflow(by: 100).partialValue))
    }
}
