import Foundation
import LacootSupport
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on a run folder for the life of a process: `train`, `score`, `collapse`,
/// `import` and `demo` take it before they read or write the folder, so a second process on
/// the same folder stops with one line instead of mixing its files with the first's. The
/// kernel releases it when the process ends, however it ends (`flock` on `<run>/.lock`).
public final class RunLock {
    private let descriptor: Int32
    public let path: String

    /// Takes the lock of `folder`, or throws ``RunLockError/busy`` at once — never waits —
    /// naming the process that holds it. A missing folder is created, unless `create` is false:
    /// then there is nothing to lock and nil is returned (opening the run reports it).
    public static func acquire(_ folder: RunFolder, create: Bool = true) throws -> RunLock? {
        if !create && !FileManager.default.fileExists(atPath: folder.url.path) { return nil }
        try folder.create()
        let path = folder.url.appendingPathComponent(".lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw RunFolderError.cannotCreate(folder: folder.url.path, reason: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw RunLockError.busy(folder: folder.url.path, holder: holder.flatMap(Int32.init))
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        // nobody else writes here now: what a killed writer left behind can go
        let stale = AtomicFile.removeStaleTemporaryFiles(in: folder.url)
        if !stale.isEmpty { logger.info("removed \(stale.count) temporary file(s) left by an interrupted write in \(folder.url.path)") }
        return RunLock(descriptor: fd, path: path)
    }

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }   // closing the descriptor releases the lock
}

/// A run folder is in use by another process.
public enum RunLockError: Error, CustomStringConvertible, Equatable {
    case busy(folder: String, holder: Int32?)

    public var description: String {
        switch self {
        case let .busy(folder, holder):
            return "run folder \(folder) is in use by another lacoot process" + (holder.map { " (pid \($0))" } ?? "")
                + "; wait for it to finish or use another --run-dir"
        }
    }
}
