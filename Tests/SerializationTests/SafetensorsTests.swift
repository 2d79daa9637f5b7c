import Foundation
import LacootSupport
import Testing
@testable import NN
@testable import Serialization
import Torch

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("nn-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Builds a safetensors file by hand: 8-byte length, header text, data.
private func rawFile(header: String, data: [UInt8], lengthOverride: UInt64? = nil) -> Data {
    let h = Array(header.utf8)
    var length = lengthOverride ?? UInt64(h.count)
    var out: [UInt8] = []
    for _ in 0..<8 { out.append(UInt8(length & 0xff)); length >>= 8 }
    return Data(out + h + data)
}

@Suite struct SafetensorsTests {
    @Test func roundTripsEveryDtypeAndMetadata() throws {
        let g = try Generator(seed: 1)
        let f32 = try Tensor.randn([2, 3], generator: g)
        let tensors: [NamedTensor] = [
            ("a.f32", f32),
            ("b.f16", try f32.to(.float16)),
            ("c.bf16", try f32.to(.bfloat16)),
            ("d.i64", try Tensor([1, -2, 1 << 40] as [Int64], shape: [3])),
            ("e.u8", try Tensor([0, 7, 255] as [UInt8], shape: [3])),
            ("f.scalar", try Tensor.zeros([], dtype: .int64)),
            ("g.empty", try Tensor.zeros([0, 4])),
            ("h.channels_last", try Tensor.randn([1, 3, 2, 2], generator: g).contiguous(.channelsLast)),
        ]
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("t.safetensors")
        let meta = ["format": "pt", "manifest": "{\"quoted\": \"yes\\n\"}", "ünï": "côdé"]
        try Safetensors.write(tensors, metadata: meta, to: url)
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + headerLength) % 8 == 0, "data starts 8-byte aligned")
        let file = try Safetensors.read(contentsOf: url)
        #expect(file.metadata == meta)
        #expect(file.names == tensors.map(\.name))
        for (name, t) in tensors {
            let back = try #require(file[name])
            #expect(back.dtype == t.dtype)
            #expect(back.shape == t.shape)
            #expect(try back.bytes() == t.bytes(), "\(name) round-trips bit for bit")
        }
        #expect(try Safetensors.readMetadata(contentsOf: url) == meta)
        // Same bytes through encode/decode in memory.
        let encoded = try Safetensors.encode(tensors, metadata: meta)
        #expect(encoded == bytes)
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["t.safetensors"])
    }

    @Test func overwritesAtomicallyAndRejectsBadNames() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("w.safetensors")
        try Safetensors.write([("x", try Tensor.ones([2]))], to: url)
        try Safetensors.write([("y", try Tensor.zeros([3]))], to: url)
        #expect(try Safetensors.read(contentsOf: url).names == ["y"])
        #expect(throws: NNError.self) { try Safetensors.write([("x", try Tensor.ones([1])), ("x", try Tensor.ones([1]))], to: url) }
        // Writing goes through LacootSupport's AtomicFile, whose error names the file.
        #expect(throws: AtomicFileError.self) {
            try Safetensors.write([("x", try Tensor.ones([1]))], to: dir.appendingPathComponent("missing/dir/f.safetensors"))
        }
        #expect(try Safetensors.read(contentsOf: url).names == ["y"], "a failed write leaves the old file")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["w.safetensors"])
    }

    @Test(arguments: [
        ("truncated header length", rawFile(header: "", data: []).prefix(5), "too short"),
        ("huge header length", rawFile(header: "{}", data: [], lengthOverride: 1 << 40), "exceeds"),
        ("header past the end", rawFile(header: "{}", data: [], lengthOverride: 64), "runs past the end"),
        ("bad JSON", rawFile(header: "{\"a\": {\"dtype\": ", data: []), "not well-formed JSON"),
        ("not an object", rawFile(header: "[1, 2]", data: []), "does not start with '{'"),
        ("unknown dtype", rawFile(header: #"{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), "unknown dtype \"F8\""),
        ("offsets past the end", rawFile(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]), "past the 4 data bytes"),
        ("truncated data", Data(rawFile(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)).dropLast(3)), "truncated"),
        ("overlap", rawFile(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: Array(repeating: 0, count: 8)), "overlap"),
        ("byte count", rawFile(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)), "needs 12 bytes"),
        ("hole", rawFile(header: #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}"#, data: [0, 0, 0, 0]), "belong to no tensor"),
        ("negative shape", rawFile(header: #"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}"#, data: []), "invalid shape"),
        ("missing offsets", rawFile(header: #"{"a":{"dtype":"U8","shape":[1]}}"#, data: [0]), "data_offsets"),
        ("metadata not strings", rawFile(header: #"{"__metadata__":{"a":1}}"#, data: []), "not a string"),
        ("empty tensor, huge shape", rawFile(header: #"{"a":{"dtype":"F32","shape":[0,9223372036854775807],"data_offsets":[0,0]}}"#, data: []), "too large"),
        ("empty tensor, many dimensions", rawFile(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[0" + String(repeating: ",1", count: 40) + "],\"data_offsets\":[0,0]}}", data: []), "41 dimensions"),
    ])
    func corruptFilesGiveClearErrors(_ name: String, _ data: Data, _ expected: String) throws {
        do {
            _ = try Safetensors.decode(Data(data), source: name)
            Issue.record("\(name): decoded without error")
        } catch let error as SafetensorsError {
            #expect(error.description.contains(expected), "\(name): \(error)")
            #expect(error.description.hasPrefix(name))
        }
    }

    @Test func readsAMissingFileWithAClearError() throws {
        let url = URL(fileURLWithPath: "/nonexistent/dir/model.safetensors")
        let error = #expect(throws: SafetensorsError.self) { try Safetensors.read(contentsOf: url) }
        guard case let .unreadable(file, _)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(file == url.path)
        #expect(error?.description.hasPrefix(url.path + ": cannot read the file") == true)
    }

    /// A file cut short (a copy interrupted) names the file and the tensor whose data is cut.
    @Test func aTruncatedFileNamesTheFileAndTheTensor() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("weights.safetensors")
        try Safetensors.write([("conv.weight", try Tensor.ones([4, 4])), ("fc.bias", try Tensor.ones([3]))], to: url)
        let bytes = try Data(contentsOf: url)
        try bytes.dropLast(5).write(to: url)
        let error = #expect(throws: SafetensorsError.self) { try Safetensors.read(contentsOf: url) }
        guard case let .truncated(file, key, _)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(file == url.path && error?.file == url.path)
        #expect(key == "fc.bias")
        #expect(error?.description == "\(url.path): tensor \"fc.bias\" ends at byte 76, past the 71 data bytes (truncated file)")
        // cut inside the header: no tensor to name, still the file
        try bytes.prefix(20).write(to: url)
        #expect(throws: SafetensorsError.truncated(file: url.path, key: nil,
                                                   problem: "header of \(bytes.count - 84) bytes runs past the end of the 20-byte file (truncated)")) {
            try Safetensors.readMetadata(contentsOf: url)
        }
    }
}
