import Foundation

/// The central directory of a zip file, read and bounded before libtorch's reader sees the
/// file: libtorch allocates each record at the size the directory promises (its reader
/// reads the `version` record while opening), so a 200-byte file that claims a 4 GB record
/// would allocate 4 GB. `torch.save` stores its records uncompressed, so no record can be
/// larger than the file that holds it.
public enum ZipDirectory {
    /// The (name, uncompressed size) of every entry; throws one line saying why when the
    /// directory is missing, truncated, or promises more bytes than the file holds.
    public static func entries(of path: String) throws -> [(name: String, size: Int)] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw TorchError("cannot read \(path): missing or not readable") }
        defer { try? handle.close() }
        let fileSize = Int(try handle.seekToEnd())
        func fail(_ reason: String) -> TorchError { TorchError(reason) }
        func bytes(at offset: Int, count: Int) throws -> [UInt8] {
            guard offset >= 0, count >= 0, offset <= fileSize, count <= fileSize - offset else {
                throw fail("the directory points past the end of the file")
            }
            try handle.seek(toOffset: UInt64(offset))
            let data = try handle.read(upToCount: count) ?? Data()
            guard data.count == count else { throw fail("the file is truncated") }
            return [UInt8](data)
        }

        // The end-of-directory record: in the last 22 + 65,535 bytes (its comment's limit).
        let tailLength = min(fileSize, 22 + 65_535)
        let tail = try bytes(at: fileSize - tailLength, count: tailLength)
        guard tail.count >= 22,
              let end = stride(from: tail.count - 22, through: 0, by: -1).first(where: { le32(tail, $0) == 0x0605_4b50 })
        else { throw fail("no end-of-directory record") }
        var entryCount = Int(le16(tail, end + 10))
        var directorySize = Int(le32(tail, end + 12))
        var directoryOffset = Int(le32(tail, end + 16))
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // zip64: a locator just before the record points at the 64-bit end record
            let locatorStart = fileSize - tailLength + end - 20
            let locator = try bytes(at: locatorStart, count: 20)
            guard le32(locator, 0) == 0x0706_4b50 else { throw fail("a zip64 archive without its locator") }
            let record = try bytes(at: try bounded(le64(locator, 8), fail), count: 56)
            guard le32(record, 0) == 0x0606_4b50 else { throw fail("a broken zip64 end record") }
            entryCount = try bounded(le64(record, 32), fail)
            directorySize = try bounded(le64(record, 40), fail)
            directoryOffset = try bounded(le64(record, 48), fail)
        }
        // Each entry takes at least 46 bytes: the count cannot exceed what the directory holds.
        guard entryCount <= directorySize / 46 + 1 else { throw fail("\(entryCount) entries in a \(directorySize)-byte directory") }
        let directory = try bytes(at: directoryOffset, count: directorySize)

        var entries: [(name: String, size: Int)] = []
        var position = 0
        for _ in 0..<entryCount {
            guard position + 46 <= directory.count, le32(directory, position) == 0x0201_4b50 else {
                throw fail("a broken central directory entry")
            }
            let nameLength = Int(le16(directory, position + 28))
            let extraLength = Int(le16(directory, position + 30))
            let commentLength = Int(le16(directory, position + 32))
            let next = position + 46 + nameLength + extraLength + commentLength
            guard next <= directory.count else { throw fail("a central directory entry runs past the directory") }
            let name = String(decoding: directory[(position + 46)..<(position + 46 + nameLength)], as: UTF8.self)
            var size = Int(le32(directory, position + 24))
            var compressed = Int(le32(directory, position + 20))
            if size == 0xFFFF_FFFF || compressed == 0xFFFF_FFFF {
                let extra = Array(directory[(position + 46 + nameLength)..<(position + 46 + nameLength + extraLength)])
                (size, compressed) = try zip64Sizes(extra, size: size, compressed: compressed, fail: fail)
            }
            guard size <= fileSize, compressed <= fileSize else {
                throw fail("record \(name) claims \(max(size, compressed)) bytes, more than the whole file (\(fileSize))")
            }
            entries.append((name, size))
            position = next
        }
        return entries
    }

    /// The 64-bit sizes from an entry's zip64 extra field (id 1), which holds only the
    /// fields whose 32-bit value is 0xFFFFFFFF, uncompressed size first.
    private static func zip64Sizes(_ extra: [UInt8], size: Int, compressed: Int, fail: (String) -> TorchError) throws -> (Int, Int) {
        var position = 0
        while position + 4 <= extra.count {
            let id = le16(extra, position), length = Int(le16(extra, position + 2))
            let body = position + 4
            guard body + length <= extra.count else { break }
            if id == 1 {
                var cursor = body
                var newSize = size, newCompressed = compressed
                if size == 0xFFFF_FFFF {
                    guard cursor + 8 <= body + length else { break }
                    newSize = try bounded(le64(extra, cursor), fail); cursor += 8
                }
                if compressed == 0xFFFF_FFFF {
                    guard cursor + 8 <= body + length else { break }
                    newCompressed = try bounded(le64(extra, cursor), fail)
                }
                return (newSize, newCompressed)
            }
            position = body + length
        }
        throw fail("an entry's 64-bit sizes are missing")
    }

    private static func bounded(_ value: UInt64, _ fail: (String) -> TorchError) throws -> Int {
        guard value <= UInt64(Int.max / 2) else { throw fail("an impossible size or offset \(value)") }
        return Int(value)
    }

    private static func le16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    private static func le32(_ b: [UInt8], _ i: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[i + $1]) << (8 * $1) } }
    private static func le64(_ b: [UInt8], _ i: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[i + $1]) << (8 * $1) } }
}
