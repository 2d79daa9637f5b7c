import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Small files and helpers for the round-two hostile-input tests (docs/RELIABILITY.md).
enum HostileFixtures {
    /// A 64×64 RGB PNG, one colour (120, 60, 30).
    static let brownPNG = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAIAAAAlC+aJAAAAY0lEQVR4nO3PQQ3AIADAQEAIShCG/IngcVnSU9DOe/b4s6UDXjWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgfdZzAVL+KaRyAAAAAElFTkSuQmCC")!
    /// A 64×64 RGB PNG, one colour (30, 160, 220).
    static let bluePNG = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAIAAAAlC+aJAAAAY0lEQVR4nO3PQQ3AIADAQEAI2hGGmIngcVnSU9DOfe74s6UDXjWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgNaA1oDWgfYgFAhorc1sQAAAAAElFTkSuQmCC")!
    /// An 8×8 baseline JPEG.
    static let smallJPEG = Data(base64Encoded: "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAARCAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD5yooor88P1U//2Q==")!

    /// An image folder dataset (`--dataset folder`) under `root`: train/ and test/, classes
    /// "brown" and "blue" of 64×64 PNGs (`perClass` in train, 2 in test).
    static func imageFolder(at root: String, perClass: Int = 8) throws {
        for (split, count) in [("train", perClass), ("test", 2)] {
            for (name, png) in [("brown", brownPNG), ("blue", bluePNG)] {
                let dir = root + "/" + split + "/" + name
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for i in 0..<count { try png.write(to: URL(fileURLWithPath: dir + "/\(name) \(i).png")) }
            }
        }
    }

    /// Runs the built `lacoot` with stdout and stderr discarded and returns its exit status and
    /// its peak resident memory in KB (`ru_maxrss` of this one child, from `wait4`).
    static func peakResidentKB(_ arguments: [String]) throws -> (code: Int32, kb: Int) {
        let path = try executable().path
        var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, &argv, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), usage.ru_maxrss)
    }

    /// Makes `path` immutable (`chattr +i`: even root cannot create, rename or remove entries
    /// in it); false when the file system or the process cannot.
    static func makeImmutable(_ path: String, _ on: Bool = true) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
        p.arguments = [on ? "+i" : "-i", path]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// Whether immutable folders can be made here (root on ext4, xfs, btrfs…).
    static let canMakeImmutable: Bool = {
        guard let dir = try? scratch() else { return false }
        defer { _ = makeImmutable(dir, false) }
        guard makeImmutable(dir) else { return false }
        return !FileManager.default.createFile(atPath: dir + "/probe", contents: Data())
    }()
}
