import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed atomic write. Every case names the file that was to be written; the description
/// is one line saying what went wrong.
public enum AtomicFileError: Error, CustomStringConvertible, LocalizedError, Sendable, Equatable {
    /// The URL names a folder or nothing (`/`, a path ending in `/`).
    case notAFilePath(path: String)
    /// The folder that should hold the file does not exist.
    case missingFolder(path: String, folder: String)
    /// The parent path exists but is a file.
    case parentNotAFolder(path: String, parent: String)
    /// No temporary file could be created next to the target (permissions, read-only disk…).
    case cannotCreateTemporaryFile(path: String, folder: String, reason: String)
    /// A system call failed while writing, flushing or renaming (`operation` says which).
    case ioFailed(path: String, operation: String, reason: String)
    /// A folder of that name is in the way.
    case targetIsFolder(path: String)
    /// The value could not be encoded (e.g. NaN in JSON); nothing was written.
    case encodingFailed(path: String, reason: String)

    /// The file that was to be written.
    public var path: String {
        switch self {
        case let .notAFilePath(path), let .missingFolder(path, _), let .parentNotAFolder(path, _),
             let .cannotCreateTemporaryFile(path, _, _), let .ioFailed(path, _, _), let .targetIsFolder(path),
             let .encodingFailed(path, _):
            return path
        }
    }

    /// What went wrong, e.g. "folder /x does not exist".
    public var reason: String {
        switch self {
        case .notAFilePath: return "not a file path"
        case let .missingFolder(_, folder): return "folder \(folder) does not exist"
        case let .parentNotAFolder(_, parent): return "\(parent) is not a folder"
        case let .cannotCreateTemporaryFile(_, folder, reason): return "cannot create a temporary file in \(folder): \(reason)"
        case let .ioFailed(_, operation, reason): return "\(operation) failed: \(reason)"
        case .targetIsFolder: return "a folder of that name exists"
        case let .encodingFailed(_, reason): return "JSON encoding failed: \(reason)"
        }
    }

    public var description: String { "cannot write \(path): \(reason)" }
    public var errorDescription: String? { description }
}

/// Crash-safe file writes — the one writer of the project (reports, run folders, safetensors
/// weights and checkpoints all go through it).
///
/// The bytes go to a temporary file in the target's folder, which is flushed to disk (fsync)
/// and renamed over the target; the folder is then fsynced so that the rename itself survives
/// a crash. Readers see either the old file or the complete new one, never a half-written
/// file; on failure the temporary file is removed and the old content is left as it was.
///
/// ```swift
/// try AtomicFile.write("hello\n", to: url)
/// try AtomicFile.write(to: url) { out in
///     try out.write(header)
///     for chunk in chunks { try out.write(chunk) }
/// }
/// ```
public enum AtomicFile {
    /// The open temporary file handed to ``AtomicFile/write(to:_:)``'s body; valid only
    /// inside that body.
    public struct Sink {
        fileprivate let fd: Int32
        fileprivate let target: String

        /// Appends raw bytes.
        public func write(_ buffer: UnsafeRawBufferPointer) throws {
            guard var p = buffer.baseAddress else { return }
            var left = buffer.count
            while left > 0 {
                let n = posixWrite(fd, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw AtomicFileError.ioFailed(path: target, operation: "writing", reason: errorText(errno))
                }
                left -= n
                p += n
            }
        }

        /// Appends `data`.
        public func write(_ data: Data) throws {
            try data.withUnsafeBytes { try write($0) }
        }

        /// Appends `bytes`.
        public func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }
    }

    /// Removes the temporary files that writes interrupted by a kill left in `folder`
    /// (`.<name>.tmp-<pid>-<id>`) and returns their names. Only call it while no other process
    /// writes there (a run folder's lock held).
    @discardableResult
    public static func removeStaleTemporaryFiles(in folder: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let stale = names.filter(isTemporaryName)
        for name in stale { try? FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
        return stale
    }

    /// Whether `name` has the form of this writer's temporary files.
    static func isTemporaryName(_ name: String) -> Bool {
        guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards) else { return false }
        let tail = name[marker.upperBound...].split(separator: "-")
        return tail.count == 2 && tail[0].allSatisfy(\.isNumber) && tail[1].count == 8 && tail[1].allSatisfy(\.isHexDigit)
    }

    /// Runs `body` on a temporary file next to `url`, then makes it `url` atomically (see the
    /// type's documentation). An existing target keeps its permission bits; a new file gets
    /// 0644 minus the umask. An error thrown by `body` is rethrown as is, after the temporary
    /// file was removed.
    /// - Throws: `AtomicFileError` naming the path (missing folder, no permission, disk full…),
    ///   or whatever `body` throws.
    public static func write(to url: URL, _ body: (Sink) throws -> Void) throws {
        let target = url.standardizedFileURL.path
        let folderURL = url.standardizedFileURL.deletingLastPathComponent()
        let folder = folderURL.path
        let name = url.lastPathComponent
        guard !name.isEmpty, name != "/", !url.hasDirectoryPath else { throw AtomicFileError.notAFilePath(path: target) }

        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
            throw AtomicFileError.missingFolder(path: target, folder: folder)
        }
        if !isDirectory.boolValue { throw AtomicFileError.parentNotAFolder(path: target, parent: folder) }
        var existing = stat()
        let targetExists = stat(target, &existing) == 0
        let targetIsFolder = targetExists && (existing.st_mode & S_IFMT) == S_IFDIR

        let tempPath = folderURL.appendingPathComponent(".\(name).tmp-\(getpid())-\(UUID().uuidString.prefix(8))").path
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            let code = errno
            let reason = code == EACCES || code == EPERM || code == EROFS
                ? "no permission (\(errorText(code)))" : errorText(code)
            throw AtomicFileError.cannotCreateTemporaryFile(path: target, folder: folder, reason: reason)
        }
        var closed = false
        var renamed = false
        defer {
            if !closed { _ = close(fd) }
            if !renamed { _ = unlink(tempPath) }
        }
        func fail(_ operation: String, _ code: Int32) -> AtomicFileError {
            .ioFailed(path: target, operation: operation, reason: errorText(code))
        }

        try body(Sink(fd: fd, target: target))
        if targetExists, !targetIsFolder { _ = fchmod(fd, existing.st_mode & 0o7777) }
        if fsync(fd) != 0 { throw fail("fsync", errno) }
        closed = true
        if close(fd) != 0 { throw fail("close", errno) }
        if rename(tempPath, target) != 0 {
            let code = errno
            if targetIsFolder { throw AtomicFileError.targetIsFolder(path: target) }
            throw fail("rename into place", code)
        }
        renamed = true

        // Make the rename itself durable (best effort: some file systems refuse fsync on folders).
        let dirFD = open(folder, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            _ = close(dirFD)
        }
    }

    /// Checks up front that ``write(to:_:)`` will be able to write `url`: creates and removes a
    /// temporary file in its folder, so a command that would write only after minutes of work
    /// (a read-only or immutable run folder, a read-only mount) stops at once, having written
    /// nothing. Permission bits alone do not stop root; this asks the file system itself.
    /// - Throws: `AtomicFileError` naming `url` and its folder.
    public static func checkWritable(_ url: URL) throws {
        let folderURL = url.standardizedFileURL.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folderURL.path, isDirectory: &isDirectory) else {
            throw AtomicFileError.missingFolder(path: url.standardizedFileURL.path, folder: folderURL.path)
        }
        guard isDirectory.boolValue else { throw AtomicFileError.parentNotAFolder(path: url.standardizedFileURL.path, parent: folderURL.path) }
        let probe = folderURL.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UUID().uuidString.prefix(8))").path
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let code = errno
            let reason = code == EACCES || code == EPERM || code == EROFS ? "no permission (\(errorText(code)))" : errorText(code)
            throw AtomicFileError.cannotCreateTemporaryFile(path: url.standardizedFileURL.path, folder: folderURL.path, reason: reason)
        }
        _ = close(fd)
        _ = unlink(probe)
    }

    /// Writes `data` to `url` atomically.
    /// - Throws: `AtomicFileError` naming the path.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { out in try out.write(data) }
    }

    /// Writes a UTF-8 string atomically.
    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
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
            throw AtomicFileError.encodingFailed(path: url.standardizedFileURL.path, reason: describe(error))
        }
        data.append(0x0A)
        try write(data, to: url)
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

private func errorText(_ code: Int32) -> String {
    String(cString: strerror(code))
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
