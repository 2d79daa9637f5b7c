import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Datasets

/// Sizes read from files are checked before use; non-regular files are refused.
@Suite struct DatasetsReliabilityTests {
    /// A zero dimension is refused where it is read: with it, the product of the others was
    /// never checked (0 × 2³² × 2³² "fits") and a later size computation trapped.
    @Test func zeroIDXDimension() throws {
        for (dims, offset) in [([0, 0xFFFF_FFFF, 0xFFFF_FFFF], 4), ([5, 0, 28], 8), ([5, 28, 0], 12)] {
            let bytes = IDXArray.encode(dimensions: dims, bytes: [])
            guard case let .badMagic(file, at, expected, found)? = dataError({ try IDXArray(parsing: bytes, file: "f.idx") }) else {
                Issue.record("\(dims) accepted")
                continue
            }
            #expect(file == "f.idx" && at == offset && found == "0" && expected.hasPrefix("a dimension ≥ 1"))
        }
    }

    /// Image shapes whose byte count overflows are an error, not a trap.
    @Test func overflowingImageShape() throws {
        #expect(throws: DataError.self) {
            try ImageDataset(name: "x", pixels: [], labels: [0, 0], channels: 1, height: Int.max / 2, width: 3, classCount: 1)
        }
    }

    /// A FIFO, a folder or a device where a data file is expected: an error naming the path, no hang.
    @Test func nonRegularFilesAreRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-fifo-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fifo = dir + "/images.idx"
        #expect(mkfifo(fifo, 0o644) == 0)
        for (path, reason) in [(fifo, "FIFO"), (dir, "folder"), ("/dev/null", "not a regular file")] {
            guard case let .unreadable(p, r)? = dataError({ try IDXArray(contentsOf: path) }) else {
                Issue.record("\(path) accepted")
                continue
            }
            #expect(p == path && r.contains(reason), "\(r)")
        }
    }
}
