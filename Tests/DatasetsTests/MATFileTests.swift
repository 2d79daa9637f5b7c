import Foundation
import Testing
@testable import Datasets

@Suite struct MATFileTests {
    let variables: [MATWriter.Variable] = [
        .init(name: "labels", values: [1, 2, 102, 7], type: .double),
        .init(name: "trnid", values: [3, 65_535, 9], type: .uint16),
        .init(name: "tiny", values: [200], type: .uint8),          // small element format
        .init(name: "neg", values: [-5, 70_000], type: .int32),
        .init(name: "s", values: [1.5], type: .single),
        .init(name: "i8", values: [-3, 4], type: .int8),
    ]

    func check(_ mat: MATFile) throws {
        #expect(try mat.array("labels") == MATArray(name: "labels", dimensions: [1, 4], values: [1, 2, 102, 7]))
        #expect(try mat.integers("trnid", in: 1...70_000) == [3, 65_535, 9])
        #expect(try mat.array("tiny").values == [200])
        #expect(try mat.array("neg").values == [-5, 70_000])
        #expect(try mat.array("s").values == [1.5])
        #expect(try mat.array("i8").values == [-3, 4])
    }

    @Test func readsUncompressedNumericArraysOfEveryType() throws {
        try check(try MATFile(bytes: try MATWriter.file(variables), path: "plain.mat"))
        try check(try MATFile(bytes: try MATWriter.file(variables, bigEndian: true), path: "big.mat"))
    }

    @Test func readsCompressedElements() throws {
        let dir = try TempDir()
        let stored = try dir.write("stored.mat", try MATWriter.file(variables, compress: .stored))
        try check(try MATFile(path: stored))
        let deflated = try dir.write("deflated.mat", try MATWriter.file(variables, compress: .deflate))
        try check(try MATFile(path: deflated))
    }

    @Test func skipsNonNumericArrays() throws {
        var bytes = MATWriter.header(bigEndian: false)
        bytes += MATWriter.matrix(.init(name: "chars", values: [65, 66], type: .uint16), bigEndian: false, arrayClass: 4)
        bytes += MATWriter.matrix(.init(name: "x", values: [1]), bigEndian: false)
        let mat = try MATFile(bytes: bytes, path: "m.mat")
        #expect(mat.arrays.keys.sorted() == ["x"])
        let e = dataError { try mat.array("labels") }
        #expect(e?.description.contains("no numeric variable 'labels'") == true)
        #expect(e?.description.contains("'x'") == true)
    }

    @Test func refusesBadHeaders() throws {
        #expect(dataError { try MATFile(bytes: [1, 2, 3], path: "short.mat") } == .truncated(file: "short.mat", offset: 3, needed: 125))
        var bytes = try MATWriter.file(variables)
        bytes[126] = 0x41
        guard case .badMagic("bad.mat", 126, _, _)? = dataError({ try MATFile(bytes: bytes, path: "bad.mat") }) else {
            Issue.record("expected badMagic"); return
        }
        let v73 = MATWriter.header(bigEndian: false, version: 0x0200)
        #expect(dataError { try MATFile(bytes: v73, path: "v73.mat") }?.description.contains("7.3") == true)
    }

    @Test func refusesSizesBeyondTheFile() throws {
        // An element promising ~4 GB in a small file is refused, not allocated.
        let huge = MATWriter.header(bigEndian: false) + MATWriter.word(14, bigEndian: false) + MATWriter.word(0xFFFF_FFF0, bigEndian: false)
            + [UInt8](repeating: 0, count: 16)
        guard case let .malformed(file, offset, reason)? = dataError({ try MATFile(bytes: huge, path: "huge.mat") }) else {
            Issue.record("expected malformed"); return
        }
        #expect(file == "huge.mat" && offset == 128 && reason.contains("4294967280 bytes"))
        // Dimensions promising 10^10 values with four stored.
        var bytes = try MATWriter.file([.init(name: "labels", values: [1, 2, 3, 4])])
        let dims = 128 + 8 + 16 + 8 // matrix tag, flags element, dims tag
        bytes.replaceSubrange(dims..<(dims + 8), with: MATWriter.word(100_000, bigEndian: false) + MATWriter.word(100_000, bigEndian: false))
        #expect(dataError { try MATFile(bytes: bytes, path: "dims.mat") }?.description.contains("need 10000000000 values") == true)
        // Truncated in the middle of an element.
        let full = try MATWriter.file(variables)
        guard case .malformed("cut.mat", _, _)? = dataError({ try MATFile(bytes: Array(full.prefix(150)), path: "cut.mat") }) else {
            Issue.record("expected malformed for a cut file"); return
        }
    }

    @Test func refusesDamagedOrExplodingCompressedElements() throws {
        var bytes = try MATWriter.file(variables, compress: .deflate)
        bytes[128 + 8 + 6] ^= 0xFF
        let damaged = dataError { try MATFile(bytes: bytes, path: "z.mat") }
        #expect(damaged?.description.contains("z.mat") == true)
        // A stream that inflates beyond the limit stops there.
        let big = try MATWriter.file([.init(name: "zeros", values: [Double](repeating: 0, count: 10_000))], compress: .deflate)
        #expect(big.count < 1000)
        let e = dataError { try MATFile(bytes: big, path: "bomb.mat", inflateLimit: 4096) }
        #expect(e?.description.contains("more than 4096 bytes") == true)
        #expect(try MATFile(bytes: big, path: "ok.mat").array("zeros").values.count == 10_000)
    }

    @Test func integersMustBeWholeAndInRange() throws {
        let mat = try MATFile(bytes: try MATWriter.file([.init(name: "ids", values: [1, 2.5])]), path: "ids.mat")
        let e = dataError { try mat.integers("ids", in: 1...10) }
        #expect(e == .malformed(file: "ids.mat", offset: nil, reason: "'ids' element 2 is 2.5, not a whole number in 1...10"))
    }
}
