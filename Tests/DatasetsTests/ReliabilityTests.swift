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

    /// A file whose name is not UTF-8 in an image folder is reported by name, never dropped.
    @Test func nonUTF8NamesAreReported() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-names-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/train/shoe", withIntermediateDirectories: true)
        var path = Array((root + "/train/shoe/caf").utf8) + [0xE9] + Array(".png".utf8) + [0]
        let fd = path.withUnsafeMutableBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { open($0, O_CREAT | O_WRONLY, 0o644) }
        }
        #expect(fd >= 0)
        close(fd)
        guard case let .unreadable(p, reason)? = dataError({ try ImageFolderLayout.load(directory: root + "/train") }) else {
            Issue.record("a non-UTF-8 name was accepted")
            return
        }
        #expect(p.hasSuffix("/shoe/caf\\xE9.png"), "\(p)")
        #expect(reason.contains("not valid UTF-8"))
        path.removeAll()
    }

    /// Decoder bombs: a tiny JPEG whose header promises 40000×40000 pixels and a PNG strip
    /// whose resize would make 64 × 12.8 M pixels are refused before anything is allocated for
    /// them; a gzipped IDX that inflates a thousandfold stops at its limit.
    @Test func decompressionBombsAreRefused() throws {
        let small = DecodedImage(pixels: [UInt8](repeating: 128, count: 8 * 8), width: 8, height: 8, channels: 1)
        var jpeg = try ImageCodec.encodeJPEG(small)
        let sof = try #require((0..<(jpeg.count - 8)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0x9C, 0x40, 0x9C, 0x40])   // height, width = 40000
        let error = #expect(throws: DataError.self) { try ImageCodec.decode(jpeg, channels: 3, file: "bomb.jpg") }
        #expect(error?.description.contains("40000×40000") == true && error?.description.contains("bomb.jpg") == true,
                "\(String(describing: error))")

        let strip = DecodedImage(pixels: [UInt8](repeating: 9, count: 200_000), width: 200_000, height: 1, channels: 1)
        let decoded = try ImageCodec.decode(try ImageCodec.encodePNG(strip), channels: 1, file: "strip.png")
        #expect(decoded.width == 200_000)
        let resize = #expect(throws: DataError.self) { try ImageCodec.resizeAndCenterCrop(decoded, size: 64, file: "strip.png") }
        #expect(resize?.description.contains("strip.png") == true, "\(String(describing: resize))")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bomb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let count = 100 << 20
        var idx: [UInt8] = [0, 0, 8, 1, UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
        idx += [UInt8](repeating: 0, count: count)
        let gz = try FileIO.gzip(idx, level: 9)
        #expect(gz.count < 1 << 20)
        let path = dir.appendingPathComponent("labels-idx1-ubyte.gz").path
        try Data(gz).write(to: URL(fileURLWithPath: path))
        let inflated = #expect(throws: DataError.self) { try IDXArray(contentsOf: path) }
        #expect(inflated?.description.contains("decompression bomb") == true, "\(String(describing: inflated))")
    }
}
