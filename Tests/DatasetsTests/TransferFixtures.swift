import Foundation
@testable import Datasets

/// A test-side MAT-file level-5 writer: numeric row vectors, stored plainly or in zlib-compressed
/// elements, little- or big-endian.
enum MATWriter {
    /// MAT data types used by the fixtures (the tag's type field) and their widths.
    enum NumberType: UInt32 {
        case int8 = 1, uint8 = 2, uint16 = 4, int32 = 5, single = 7, double = 9

        var width: Int {
            switch self {
            case .int8, .uint8: 1
            case .uint16: 2
            case .int32, .single: 4
            case .double: 8
            }
        }
    }

    /// One variable: a 1×n row vector stored as `type`.
    struct Variable {
        var name: String
        var values: [Double]
        var type: NumberType = .double
    }

    static func word(_ v: UInt32, bigEndian: Bool) -> [UInt8] {
        let le = (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
        return bigEndian ? le.reversed() : le
    }

    static func encode(_ value: Double, as type: NumberType, bigEndian: Bool) -> [UInt8] {
        let bits: UInt64
        switch type {
        case .int8: bits = UInt64(UInt8(bitPattern: Int8(value)))
        case .uint8: bits = UInt64(UInt8(value))
        case .uint16: bits = UInt64(UInt16(value))
        case .int32: bits = UInt64(UInt32(bitPattern: Int32(value)))
        case .single: bits = UInt64(Float(value).bitPattern)
        case .double: bits = value.bitPattern
        }
        let le = (0..<type.width).map { UInt8(truncatingIfNeeded: bits >> (8 * $0)) }
        return bigEndian ? le.reversed() : le
    }

    /// A data element: the small format when the data fit in 4 bytes, else tag + data padded to 8.
    static func element(_ type: UInt32, _ data: [UInt8], bigEndian: Bool) -> [UInt8] {
        if data.count <= 4 {
            return word(UInt32(data.count) << 16 | type, bigEndian: bigEndian) + data + [UInt8](repeating: 0, count: 4 - data.count)
        }
        let padding = (8 - data.count % 8) % 8
        return word(type, bigEndian: bigEndian) + word(UInt32(data.count), bigEndian: bigEndian) + data
            + [UInt8](repeating: 0, count: padding)
    }

    /// A miMATRIX element holding `variable` as a double-class 1×n array.
    static func matrix(_ variable: Variable, bigEndian: Bool, arrayClass: UInt8 = 6) -> [UInt8] {
        let flags = element(6, word(UInt32(arrayClass), bigEndian: bigEndian) + [0, 0, 0, 0], bigEndian: bigEndian)
        let dims = element(5, word(1, bigEndian: bigEndian) + word(UInt32(variable.values.count), bigEndian: bigEndian),
                           bigEndian: bigEndian)
        let name = element(1, Array(variable.name.utf8), bigEndian: bigEndian)
        let real = element(variable.type.rawValue, variable.values.flatMap { encode($0, as: variable.type, bigEndian: bigEndian) },
                           bigEndian: bigEndian)
        return element(14, flags + dims + name + real, bigEndian: bigEndian)
    }

    /// The 128-byte header (version 0x0100 unless given).
    static func header(bigEndian: Bool, version: UInt16 = 0x0100) -> [UInt8] {
        var text = Array("MATLAB 5.0 MAT-file, written by lacoot's tests".utf8)
        text += [UInt8](repeating: 0x20, count: 116 - text.count)
        let v: [UInt8] = [UInt8(version >> 8), UInt8(version & 0xFF)]
        return text + [UInt8](repeating: 0, count: 8) + (bigEndian ? v : v.reversed()) + Array((bigEndian ? "MI" : "IM").utf8)
    }

    /// A whole file; with `compress`, each variable goes into its own compressed element.
    static func file(_ variables: [Variable], compress: Compression = .none, bigEndian: Bool = false) throws -> [UInt8] {
        var out = header(bigEndian: bigEndian)
        for v in variables {
            let m = matrix(v, bigEndian: bigEndian)
            switch compress {
            case .none: out += m
            case .stored: out += compressedElement(zlibStored(m), bigEndian: bigEndian)
            case .deflate: out += compressedElement(try zlibDeflate(m), bigEndian: bigEndian)
            }
        }
        return out
    }

    enum Compression { case none, stored, deflate }

    static func compressedElement(_ stream: [UInt8], bigEndian: Bool) -> [UInt8] {
        word(15, bigEndian: bigEndian) + word(UInt32(stream.count), bigEndian: bigEndian) + stream
    }

    /// A zlib stream made of stored (uncompressed) deflate blocks.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var start = 0
        repeat {
            let n = min(65_535, data.count - start)
            let final: UInt8 = start + n == data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[start..<(start + n)]
            start += n
        } while start < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65_521; b = (b + a) % 65_521 }
        return out + word(b << 16 | a, bigEndian: true)
    }

    /// A real deflate-compressed zlib stream, made by Python's standard `zlib` module.
    static func zlibDeflate(_ data: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import sys, zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read(), 9))"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(data))
        try input.fileHandleForWriting.close()
        let result = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(result)
    }
}

/// Tiny images for the dataset layouts: 8×8, every pixel `value` (so an image is recognised by
/// its first byte after decoding).
enum LayoutFixture {
    static func flat(_ value: UInt8, size: Int = 8) throws -> [UInt8] {
        try ImageCodec.encodePNG(DecodedImage(pixels: [UInt8](repeating: value, count: size * size * 3), width: size,
                                              height: size, channels: 3))
    }

    /// The first byte of each image: which fixture image it is.
    static func ids(_ ds: ImageDataset) -> [UInt8] { (0..<ds.count).map { ds.image(at: $0).first ?? 0 } }

    /// Writes a text file.
    static func text(_ dir: TempDir, _ relative: String, _ lines: [String]) throws {
        try dir.write(relative, Array((lines.joined(separator: "\n") + "\n").utf8))
    }
}
