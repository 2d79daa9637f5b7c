#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What stands at a path, checked before a file is opened for reading: opening a FIFO blocks
/// until a writer comes, and a folder or a device is never the file a reader expects.
public enum RegularFile {
    /// Why `path` (symbolic links followed) cannot be read as a file, or nil when it is a
    /// regular file or missing (the caller reports a missing file in its own words).
    public static func problem(at path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return problem(mode: st.st_mode)
    }

    /// The same judgement for a `st_mode` (from `stat` or `fstat`).
    public static func problem(mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "is a folder, a file was expected"
        case S_IFIFO: return "is a FIFO (named pipe), a regular file was expected"
        case S_IFCHR, S_IFBLK: return "is a device, a regular file was expected"
        case S_IFSOCK: return "is a socket, a regular file was expected"
        default: return "is not a regular file"
        }
    }
}
