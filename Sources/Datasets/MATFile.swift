/// A numeric array read from a MAT-file: its name, its dimensions (MATLAB's order, at least
/// two) and its values in column-major order, converted to `Double`.
public struct MATArray: Sendable, Equatable {
    public let name: String
    public let dimensions: [Int]
    public let values: [Double]
}

/// The numeric arrays of a MATLAB level-5 MAT-file (what `save` writes with `-v6` or `-v7`,
/// zlib-compressed or not), e.g. Flowers-102's `imagelabels.mat` and `setid.mat`. Cell, struct,
/// character, sparse and object arrays are skipped. Every size read from the file is checked
/// against the bytes that are there before anything is allocated, a compressed element may not
/// inflate beyond `inflateLimit`, and a damaged file throws `DataError` naming the file and byte.
public struct MATFile: Sendable {
    /// The file the arrays were read from (for error messages).
    public let path: String
    /// The numeric arrays by variable name.
    public let arrays: [String: MATArray]

    /// The most bytes one compressed element may inflate to (64 MiB by default).
    public static let defaultInflateLimit = 64 << 20

    /// Reads the file at `path`.
    public init(path: String, inflateLimit: Int = MATFile.defaultInflateLimit) throws {
        let bytes = try FileIO.read(path, hint: "a MATLAB .mat file was expected here")
        try self.init(bytes: bytes, path: path, inflateLimit: inflateLimit)
    }

    /// Parses MAT-file bytes; `path` names them in errors.
    public init(bytes: [UInt8], path: String, inflateLimit: Int = MATFile.defaultInflateLimit) throws {
        self.path = path
        guard bytes.count >= 128 else { throw DataError.truncated(file: path, offset: bytes.count, needed: 128 - bytes.count) }
        let bigEndian: Bool
        switch (bytes[126], bytes[127]) {
        case (0x49, 0x4D): bigEndian = false // "IM": written little-endian
        case (0x4D, 0x49): bigEndian = true
        default:
            throw DataError.badMagic(file: path, offset: 126, expected: "the MAT-file endian indicator 'IM' or 'MI'",
                                     found: String(format2: bytes[126], bytes[127]))
        }
        let top = MATElementReader(bytes: bytes, path: path, bigEndian: bigEndian, compressedAt: nil)
        let version = top.uint16(at: 124)
        guard version == 0x0100 else {
            let detail = version == 0x0200 ? " (version 7.3 files are HDF5; save with -v7 instead)" : ""
            throw DataError.malformed(file: path, offset: 124,
                                      reason: "MAT-file version 0x\(String(version, radix: 16)) is not level 5 (0x0100)\(detail)")
        }
        var arrays: [String: MATArray] = [:]
        try top.readElements(from: 128, inflateLimit: inflateLimit) { arrays[$0.name] = $0 }
        self.arrays = arrays
    }

    /// The array called `name`, or an error listing the numeric arrays the file has.
    public func array(_ name: String) throws -> MATArray {
        guard let array = arrays[name] else {
            let have = arrays.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
            throw DataError.malformed(file: path, offset: nil,
                                      reason: "no numeric variable '\(name)' (it has: \(have.isEmpty ? "none" : have))")
        }
        return array
    }

    /// The values of array `name` as whole numbers in `range` (labels, 1-based indices).
    public func integers(_ name: String, in range: ClosedRange<Int>) throws -> [Int] {
        let array = try array(name)
        var out: [Int] = []
        out.reserveCapacity(array.values.count)
        for (i, value) in array.values.enumerated() {
            guard value.isFinite, value.rounded() == value, value >= Double(range.lowerBound),
                  value <= Double(range.upperBound) else {
                throw DataError.malformed(file: path, offset: nil,
                                          reason: "'\(name)' element \(i + 1) is \(value), not a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            out.append(Int(value))
        }
        return out
    }
}

private extension String {
    init(format2 a: UInt8, _ b: UInt8) {
        self = "bytes 0x\(String(a, radix: 16)) 0x\(String(b, radix: 16))"
    }
}

/// Walks the data elements of a MAT-file (or of one inflated compressed element).
struct MATElementReader {
    let bytes: [UInt8]
    let path: String
    let bigEndian: Bool
    /// The file offset of the compressed element these bytes were inflated from, if any.
    let compressedAt: Int?

    /// MAT data types (the tag's type field).
    enum DataType: UInt32 {
        case int8 = 1, uint8 = 2, int16 = 3, uint16 = 4, int32 = 5, uint32 = 6, single = 7, double = 9
        case int64 = 12, uint64 = 13, matrix = 14, compressed = 15

        /// Bytes per value of a numeric type (nil for matrix and compressed).
        var width: Int? {
            switch self {
            case .int8, .uint8: 1
            case .int16, .uint16: 2
            case .int32, .uint32, .single: 4
            case .double, .int64, .uint64: 8
            case .matrix, .compressed: nil
            }
        }
    }

    /// One element's tag: its type, byte count, where its data starts and where the next
    /// element starts.
    struct Tag {
        let type: UInt32
        let count: Int
        let dataStart: Int
        let next: Int
    }

    func fail(_ offset: Int, _ reason: String) -> DataError {
        if let at = compressedAt {
            return .malformed(file: path, offset: at, reason: "in the compressed element, at inflated byte \(offset): \(reason)")
        }
        return .malformed(file: path, offset: offset, reason: reason)
    }

    func uint16(at i: Int) -> UInt16 {
        let a = UInt16(bytes[i]), b = UInt16(bytes[i + 1])
        return bigEndian ? a << 8 | b : b << 8 | a
    }

    func uint32(at i: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(bytes[i + k]) << (bigEndian ? 8 * (3 - k) : 8 * k) }
        return v
    }

    func uint64(at i: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[i + k]) << (bigEndian ? 8 * (7 - k) : 8 * k) }
        return v
    }

    /// The tag at `pos`, whose data must end by `end`.
    func tag(at pos: Int, end: Int) throws -> Tag {
        guard end - pos >= 8 else { throw fail(pos, "an element tag needs 8 bytes, only \(end - pos) remain") }
        let first = uint32(at: pos)
        if first >> 16 != 0 { // small element: type and count in 4 bytes, data in the next 4
            let count = Int(first >> 16)
            guard count <= 4 else { throw fail(pos, "a small data element claims \(count) bytes (at most 4)") }
            return Tag(type: first & 0xFFFF, count: count, dataStart: pos + 4, next: pos + 8)
        }
        let count = Int(uint32(at: pos + 4))
        let dataStart = pos + 8
        guard count <= end - dataStart else {
            throw fail(pos, "an element of \(count) bytes, but only \(end - dataStart) remain")
        }
        let padded = first == DataType.compressed.rawValue ? count : (count + 7) / 8 * 8
        return Tag(type: first, count: count, dataStart: dataStart, next: min(end, dataStart + padded))
    }

    /// Reads the elements from `start` to the end, handing each numeric array to `found`.
    func readElements(from start: Int, inflateLimit: Int, found: (MATArray) -> Void) throws {
        var pos = start
        while pos < bytes.count {
            if bytes.count - pos < 8, bytes[pos...].allSatisfy({ $0 == 0 }) { break } // trailing padding
            let t = try tag(at: pos, end: bytes.count)
            switch DataType(rawValue: t.type) {
            case .matrix?:
                if let array = try matrix(from: t.dataStart, end: t.dataStart + t.count) { found(array) }
            case .compressed?:
                guard compressedAt == nil else { throw fail(pos, "a compressed element inside a compressed element") }
                let inflated = try FileIO.gunzip(Array(bytes[t.dataStart..<(t.dataStart + t.count)]),
                                                 path: path + " (compressed element at byte \(pos))", limit: inflateLimit)
                let inner = MATElementReader(bytes: inflated, path: path, bigEndian: bigEndian, compressedAt: pos)
                try inner.readElements(from: 0, inflateLimit: inflateLimit, found: found)
            default:
                break // other top-level data: nothing to read
            }
            pos = t.next
        }
    }

    /// A miMATRIX element's array (nil when it is not a numeric array).
    func matrix(from start: Int, end: Int) throws -> MATArray? {
        if start == end { return nil } // an empty placeholder
        let flags = try tag(at: start, end: end)
        guard flags.type == DataType.uint32.rawValue, flags.count == 8 else {
            throw fail(start, "array flags must be 8 bytes of miUINT32, found type \(flags.type) with \(flags.count) bytes")
        }
        let arrayClass = uint32(at: flags.dataStart) & 0xFF
        guard (6...15).contains(arrayClass) else { return nil } // cell, struct, object, char, sparse
        let dims = try tag(at: flags.next, end: end)
        guard dims.type == DataType.int32.rawValue, dims.count >= 8, dims.count % 4 == 0 else {
            throw fail(flags.next, "dimensions must be at least two miINT32 values, found type \(dims.type) with \(dims.count) bytes")
        }
        var dimensions: [Int] = []
        var elementCount = 1
        for k in 0..<(dims.count / 4) {
            let d = Int(Int32(bitPattern: uint32(at: dims.dataStart + 4 * k)))
            guard d >= 0 else { throw fail(dims.dataStart + 4 * k, "dimension \(k + 1) is negative (\(d))") }
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail(dims.dataStart, "the dimensions \(dimensions + [d]) overflow") }
            dimensions.append(d)
            elementCount = product
        }
        let nameTag = try tag(at: dims.next, end: end)
        guard nameTag.type == DataType.int8.rawValue else { throw fail(dims.next, "the array name must be miINT8, found type \(nameTag.type)") }
        let name = String(decoding: bytes[nameTag.dataStart..<(nameTag.dataStart + nameTag.count)], as: UTF8.self)
        let real = try tag(at: nameTag.next, end: end)
        let values = try numbers(real, expected: elementCount, name: name, at: nameTag.next)
        return MATArray(name: name, dimensions: dimensions, values: values)
    }

    /// The values of a numeric element that must hold `expected` of them.
    func numbers(_ t: Tag, expected: Int, name: String, at pos: Int) throws -> [Double] {
        guard let type = DataType(rawValue: t.type), let width = type.width else {
            throw fail(pos, "'\(name)': data type \(t.type) is not numeric")
        }
        guard t.count % width == 0, t.count / width == expected else {
            throw fail(pos, "'\(name)': \(t.count) bytes of \(width)-byte values, but its dimensions need \(expected) values")
        }
        return (0..<expected).map { k in
            let i = t.dataStart + k * width
            switch type {
            case .int8: return Double(Int8(bitPattern: bytes[i]))
            case .uint8: return Double(bytes[i])
            case .int16: return Double(Int16(bitPattern: uint16(at: i)))
            case .uint16: return Double(uint16(at: i))
            case .int32: return Double(Int32(bitPattern: uint32(at: i)))
            case .uint32: return Double(uint32(at: i))
            case .single: return Double(Float(bitPattern: uint32(at: i)))
            case .double: return Double(bitPattern: uint64(at: i))
            case .int64: return Double(Int64(bitPattern: uint64(at: i)))
            case .uint64: return Double(uint64(at: i))
            case .matrix, .compressed: return 0
            }
        }
    }
}
