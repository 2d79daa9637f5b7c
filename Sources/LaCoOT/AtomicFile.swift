import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed atomic write: which file, and why, in one line.
public struct AtomicFileError: Error, CustomStringConvertible, LocalizedError, Sendable {
    /// The file that was to be written.
    public var path: String
    /// What went wrong, e.g. "folder /x does not exist".
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot write \(path): \(reason)" }
    public var errorDescription: String? { description }
}

/// Crash-safe file writes: the data goes to a temporary file in the target's folder, which is
/// flushed to disk (fsync) and then renamed over the target. Readers see either the old file or
/// the complete new one, never a half-written file; on failure the temporary file is removed
/// and the old content is left as it was.
public enum AtomicFile {
    /// Writes `data` to `url` atomically (see the type's documentation). An existing target keeps
    /// its permission bits; a new file gets 0644 minus the umask.
    /// - Throws: `AtomicFileError` naming the path (missing folder, no permission, disk full…).
    public static func write(_ data: Data, to url: URL) throws {
        let target = url.standardizedFileURL.path
        let folderURL = url.standardizedFileURL.deletingLastPathComponent()
        let folder = folderURL.path
        let name = url.lastPathComponent
        guard !name.isEmpty, name != "/", !url.hasDirectoryPath else {
            throw AtomicFileError(path: target, reason: "not a file path")
        }

        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
            throw AtomicFileError(path: target, reason: "folder \(folder) does not exist")
        }
        if !isDirectory.boolValue {
            throw AtomicFileError(path: target, reason: "\(folder) is not a folder")
        }
        var existing = stat()
        let targetExists = stat(target, &existing) == 0
        let targetIsFolder = targetExists && (existing.st_mode & S_IFMT) == S_IFDIR

        let tempPath = folderURL.appendingPathComponent(".\(name).tmp-\(getpid())-\(UUID().uuidString.prefix(8))").path
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            let code = errno
            let reason = code == EACCES || code == EPERM || code == EROFS
                ? "no permission to create files in \(folder) (\(errorText(code)))"
                : "cannot create a temporary file in \(folder): \(errorText(code))"
            throw AtomicFileError(path: target, reason: reason)
        }
        var closed = false
        var renamed = false
        defer {
            if !closed { _ = close(fd) }
            if !renamed { _ = unlink(tempPath) }
        }

        func fail(_ what: String, _ code: Int32) -> AtomicFileError {
            AtomicFileError(path: target, reason: "\(what): \(errorText(code))")
        }

        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            guard var p = buffer.baseAddress else { return }
            var left = buffer.count
            while left > 0 {
                let n = posixWrite(fd, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw fail("writing failed", errno)
                }
                left -= n
                p += n
            }
        }
        if targetExists, !targetIsFolder { _ = fchmod(fd, existing.st_mode & 0o7777) }
        if fsync(fd) != 0 { throw fail("fsync failed", errno) }
        closed = true
        if close(fd) != 0 { throw fail("close failed", errno) }
        if rename(tempPath, target) != 0 {
            let code = errno
            if targetIsFolder { throw AtomicFileError(path: target, reason: "a folder of that name exists") }
            throw fail("rename into place failed", code)
        }
        renamed = true

        // Make the rename itself durable (best effort: some file systems refuse fsync on folders).
        let dirFD = open(folder, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            _ = close(dirFD)
        }
    }

    /// Encodes `value` as pretty-printed JSON with sorted keys (and a final newline) and writes it
    /// atomically. Encoding happens first, so an encoding error leaves the file untouched.
    /// - Throws: `AtomicFileError` naming the path (the encoding error is in its reason).
    public static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            throw AtomicFileError(path: url.standardizedFileURL.path, reason: "JSON encoding failed: \(describe(error))")
        }
        data.append(0x0A)
        try write(data, to: url)
    }

    /// Writes a UTF-8 string atomically.
    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }

    private static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    private static func describe(_ error: Error) -> String {
        if let e = error as? EncodingError {
            switch e {
            case .invalidValue(let value, let context):
                let path = context.codingPath.map(\.stringValue).joined(separator: ".")
                return "invalid value \(value) at \(path.isEmpty ? "top level" : path): \(context.debugDescription)"
            @unknown default:
                return "\(e)"
            }
        }
        return "\(error)"
    }
}

/// `write(2)`, named apart from `AtomicFile.write`.
@inline(__always)
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
