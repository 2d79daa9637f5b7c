import Foundation
import LacootSupport
import NN
import Torch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The contents of a safetensors file: tensors in file order and the `__metadata__` map.
public struct SafetensorsFile: @unchecked Sendable {
    public var tensors: [NamedTensor]
    public var metadata: [String: String]

    public init(tensors: [NamedTensor], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public subscript(name: String) -> Tensor? { tensors.first { $0.name == name }?.tensor }

    public var names: [String] { tensors.map(\.name) }

    /// The tensors as a dictionary (for `Module.load(stateDict:)`).
    public var dictionary: [String: Tensor] {
        Dictionary(tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
    }
}

/// An unreadable or invalid safetensors file (a training checkpoint included). Every case
/// names the file, and the tensor or metadata entry at fault where there is one; the
/// description is one line starting with the file.
public enum SafetensorsError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file cannot be read (missing, a folder, no permission); `reason` is the system's.
    case unreadable(file: String, reason: String)
    /// The file ends before its header or its data does: too short for a header length, a
    /// header running past the end, or tensor `key`'s data past the end (the usual sign of a
    /// file cut short).
    case truncated(file: String, key: String?, problem: String)
    /// The header is not a safetensors header: length over the limit, not a JSON object,
    /// malformed JSON, a `__metadata__` that is not a map of strings.
    case invalidHeader(file: String, problem: String)
    /// The header entry of tensor `key` is invalid: its dtype, shape or offsets.
    case invalidEntry(file: String, key: String, problem: String)
    /// Data bytes that belong to no tensor, or to two.
    case invalidLayout(file: String, problem: String)
    /// A valid safetensors file that is not a training checkpoint; `format` is its metadata's
    /// `format` (nil when absent).
    case notACheckpoint(file: String, format: String?)
    /// A training checkpoint whose entry `key` (a tensor or a metadata field) is invalid.
    case invalidCheckpoint(file: String, key: String, problem: String)

    /// The file concerned.
    public var file: String {
        switch self {
        case let .unreadable(file, _), let .truncated(file, _, _), let .invalidHeader(file, _),
             let .invalidEntry(file, _, _), let .invalidLayout(file, _), let .notACheckpoint(file, _),
             let .invalidCheckpoint(file, _, _):
            return file
        }
    }

    /// The tensor or metadata entry concerned, if one is.
    public var key: String? {
        switch self {
        case let .invalidEntry(_, key, _), let .invalidCheckpoint(_, key, _): return key
        case let .truncated(_, key, _): return key
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read the file (\(reason))"
        case let .invalidHeader(file, problem), let .invalidLayout(file, problem), let .truncated(file, nil, problem):
            return "\(file): \(problem)"
        case let .invalidEntry(file, key, problem), let .truncated(file, key?, problem):
            return "\(file): tensor \"\(key)\" \(problem)"
        case let .notACheckpoint(file, format):
            return "\(file): not a training checkpoint (metadata format is \(format.map { "\"\($0)\"" } ?? "missing"))"
        case let .invalidCheckpoint(file, key, problem):
            return "\(file): checkpoint entry \"\(key)\" \(problem)"
        }
    }
}

/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a
/// JSON header `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {…}}`,
/// then the raw little-endian bytes. Readable by `safetensors.torch.load_file`; loading runs
/// no code.
public enum Safetensors {
    /// Largest header accepted (the reference implementation's bound).
    public static let maxHeaderBytes = 100_000_000

    static let codes: [(String, DType)] = [
        ("F32", .float32), ("F16", .float16), ("BF16", .bfloat16), ("F64", .float64), ("I64", .int64),
        ("I32", .int32), ("I16", .int16), ("I8", .int8), ("U8", .uint8), ("BOOL", .bool),
    ]

    static func code(of dtype: DType) -> String {
        switch dtype {
        case .float32: "F32"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .float64: "F64"
        case .int64: "I64"
        case .int32: "I32"
        case .int16: "I16"
        case .int8: "I8"
        case .uint8: "U8"
        case .bool: "BOOL"
        }
    }
    static func dtype(of code: String) -> DType? { codes.first { $0.0 == code }?.1 }

    // MARK: reading

    /// Reads and validates a file (memory-mapped).
    public static func read(contentsOf url: URL) throws -> SafetensorsFile {
        let data: Data
        if let problem = RegularFile.problem(at: url.path) { throw SafetensorsError.unreadable(file: url.path, reason: problem) }
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafetensorsError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        return try decode(data, source: url.path)
    }

    /// Reads only the `__metadata__` map (the header), e.g. a saved model's manifest.
    public static func readMetadata(contentsOf url: URL) throws -> [String: String] {
        let data: Data
        if let problem = RegularFile.problem(at: url.path) { throw SafetensorsError.unreadable(file: url.path, reason: problem) }
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafetensorsError.unreadable(file: url.path, reason: error.localizedDescription)
        }
        return try parseHeader(data, source: url.path).metadata
    }

    struct Entry {
        var name: String
        var dtype: DType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    static func parseHeader(_ data: Data, source: String) throws -> (entries: [Entry], metadata: [String: String], dataStart: Int) {
        let (header, dataStart) = try rawHeader(data, source: source)
        let dataSize = data.count - dataStart
        var entries: [Entry] = []
        for (name, raw) in header.entries {
            entries.append(try entry(name, raw, dataSize: dataSize, source: source))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var position = 0
        var previous = ""
        for e in entries {
            if e.begin < position {
                throw SafetensorsError.invalidLayout(
                    file: source, problem: "tensors \"\(previous)\" and \"\(e.name)\" overlap (bytes \(e.begin)..<\(position))")
            }
            if e.begin > position {
                throw SafetensorsError.invalidLayout(
                    file: source, problem: "bytes \(position)..<\(e.begin) before tensor \"\(e.name)\" belong to no tensor")
            }
            position = e.end
            previous = e.name
        }
        guard position == dataSize else {
            throw SafetensorsError.invalidLayout(file: source, problem: "the last \(dataSize - position) data bytes belong to no tensor")
        }
        return (entries, header.metadata, dataStart)
    }

    /// The JSON header, decoded, and where the data starts.
    private static func rawHeader(_ data: Data, source: String) throws -> (RawHeader, dataStart: Int) {
        guard data.count >= 8 else {
            throw SafetensorsError.truncated(
                file: source, key: nil, problem: "file is \(data.count) bytes, too short for the 8-byte header length (truncated or not safetensors)")
        }
        var length: UInt64 = 0
        for i in (0..<8).reversed() { length = length << 8 | UInt64(data[data.startIndex + i]) }
        guard length <= UInt64(maxHeaderBytes) else {
            throw SafetensorsError.invalidHeader(
                file: source, problem: "header length \(length) exceeds the \(maxHeaderBytes)-byte limit (corrupt or not safetensors)")
        }
        let headerLength = Int(length)
        guard 8 + headerLength <= data.count else {
            throw SafetensorsError.truncated(
                file: source, key: nil, problem: "header of \(headerLength) bytes runs past the end of the \(data.count)-byte file (truncated)")
        }
        let headerBytes = data[(data.startIndex + 8)..<(data.startIndex + 8 + headerLength)]
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw SafetensorsError.invalidHeader(file: source, problem: "header does not start with '{' (not safetensors)")
        }
        do {
            return (try JSONDecoder().decode(RawHeader.self, from: Data(headerBytes)), 8 + headerLength)
        } catch let problem as HeaderProblem {
            if let key = problem.key { throw SafetensorsError.invalidEntry(file: source, key: key, problem: problem.message) }
            throw SafetensorsError.invalidHeader(file: source, problem: problem.message)
        } catch {
            throw SafetensorsError.invalidHeader(file: source, problem: "header is not well-formed JSON")
        }
    }

    /// The most dimensions a tensor entry may have.
    static let maxRank = 32
    /// The most elements a shape may describe (empty tensors included: 2^48).
    static let maxElements = 1 << 48

    /// One tensor's header entry, checked against the `dataSize` bytes of data.
    private static func entry(_ name: String, _ raw: RawHeader.RawEntry, dataSize: Int, source: String) throws -> Entry {
        func fail(_ problem: String) -> SafetensorsError { .invalidEntry(file: source, key: name, problem: problem) }
        guard let dtype = dtype(of: raw.dtype) else {
            throw fail("has unknown dtype \"\(raw.dtype)\" (known: \(codes.map(\.0).joined(separator: ", ")))")
        }
        guard raw.shape.allSatisfy({ $0 >= 0 }) else { throw fail("has an invalid shape \(raw.shape)") }
        // an empty tensor's bytes say nothing about its shape: bound the rank and every dimension,
        // and the product of the non-zero ones, before libtorch allocates anything for it
        guard raw.shape.count <= Self.maxRank else { throw fail("has \(raw.shape.count) dimensions (at most \(Self.maxRank))") }
        var nonZero = 1
        for d in raw.shape where d > 0 {
            let (product, overflow) = nonZero.multipliedReportingOverflow(by: d)
            guard !overflow, product <= Self.maxElements else { throw fail("shape \(raw.shape) is too large (more than 2^48 elements)") }
            nonZero = product
        }
        guard raw.offsets.count == 2 else { throw fail("has no [begin, end] data_offsets") }
        let (begin, end) = (raw.offsets[0], raw.offsets[1])
        guard begin >= 0, begin <= end else { throw fail("has invalid offsets [\(begin), \(end)]") }
        guard end <= dataSize else {
            throw SafetensorsError.truncated(file: source, key: name, problem: "ends at byte \(end), past the \(dataSize) data bytes (truncated file)")
        }
        var count = 1
        for d in raw.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("shape \(raw.shape) overflows") }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
        guard !overflow, bytes == end - begin else {
            throw fail("of shape \(raw.shape) and dtype \(raw.dtype) needs \(bytes) bytes, its offsets hold \(end - begin)")
        }
        return Entry(name: name, dtype: dtype, shape: raw.shape, begin: begin, end: end)
    }

    /// Validates and decodes the bytes of a safetensors file.
    public static func decode(_ data: Data, source: String = "safetensors data") throws -> SafetensorsFile {
        let (entries, metadata, dataStart) = try parseHeader(data, source: source)
        var tensors: [NamedTensor] = []
        tensors.reserveCapacity(entries.count)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            for e in entries {
                let tensor: Tensor
                if e.end == e.begin {
                    tensor = try Tensor.empty(e.shape, dtype: e.dtype)
                } else {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[(dataStart + e.begin)..<(dataStart + e.end)])
                    tensor = try Tensor(bytes: slice, shape: e.shape, dtype: e.dtype)
                }
                tensors.append((e.name, tensor))
            }
        }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }

    // MARK: writing

    private static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// The header bytes (length prefix included, padded with spaces to 8-byte alignment).
    static func header(for tensors: [NamedTensor], metadata: [String: String]) throws -> [UInt8] {
        var seen = Set<String>()
        var parts: [String] = []
        if !metadata.isEmpty {
            let fields = metadata.sorted { $0.key < $1.key }.map { jsonString($0.key) + ":" + jsonString($0.value) }
            parts.append("\"__metadata__\":{" + fields.joined(separator: ",") + "}")
        }
        var offset = 0
        for (name, t) in tensors {
            guard !name.isEmpty, name != "__metadata__", seen.insert(name).inserted else {
                throw NNError("safetensors: invalid or duplicate tensor name \"\(name)\"")
            }
            let size = t.elementCount * t.dtype.byteCount
            parts.append(jsonString(name) + ":{\"dtype\":\"" + code(of: t.dtype) + "\",\"shape\":["
                         + t.shape.map(String.init).joined(separator: ",") + "],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        var json = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while (8 + json.count) % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + json.count)
        var length = UInt64(json.count)
        for _ in 0..<8 { out.append(UInt8(length & 0xff)); length >>= 8 }
        out += json
        return out
    }

    /// The bytes of a safetensors file holding `tensors` (in the given order).
    public static func encode(_ tensors: [NamedTensor], metadata: [String: String] = [:]) throws -> Data {
        var data = Data(try header(for: tensors, metadata: metadata))
        for (_, t) in tensors { data.append(contentsOf: try t.bytes()) }
        return data
    }

    /// Writes `tensors` to `url` atomically through ``AtomicFile`` (a temporary file in the
    /// same folder, fsynced, renamed over the destination, folder fsynced), so a crash never
    /// leaves a half-written file and the old file stays when writing fails.
    public static func write(_ tensors: [NamedTensor], metadata: [String: String] = [:], to url: URL) throws {
        let head = try header(for: tensors, metadata: metadata)
        try AtomicFile.write(to: url) { out in
            try out.write(head)
            for (_, t) in tensors where t.elementCount > 0 { try out.write(t.bytes()) }
        }
    }
}

/// A problem found while decoding the header: the tensor entry at fault (nil for the
/// header itself) and the message to show.
struct HeaderProblem: Error {
    var key: String?
    let message: String
}

/// The header as JSON: `__metadata__` (strings to strings) and tensor entries, decoded
/// strictly (integers must be integers), with a message naming the entry at fault.
struct RawHeader: Decodable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct RawEntry: Decodable {
        var dtype: String
        var shape: [Int]
        var offsets: [Int]
        enum CodingKeys: String, CodingKey { case dtype, shape, offsets = "data_offsets" }
    }

    var metadata: [String: String] = [:]
    var entries: [(String, RawEntry)] = []

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            let name = key.stringValue
            if name == "__metadata__" {
                do {
                    metadata = try container.decode([String: String].self, forKey: key)
                } catch {
                    throw HeaderProblem(message: "__metadata__ is not a map of string to string (a value is not a string)")
                }
                continue
            }
            do {
                entries.append((name, try container.decode(RawEntry.self, forKey: key)))
            } catch DecodingError.keyNotFound(let missing, _) {
                let field = missing.stringValue == "data_offsets" ? "[begin, end] data_offsets" : missing.stringValue
                throw HeaderProblem(key: name, message: "has no \(field)")
            } catch DecodingError.typeMismatch(_, let context) {
                throw HeaderProblem(key: name, message: "has an invalid \(Self.field(context.codingPath, after: key))")
            } catch DecodingError.dataCorrupted(let context) {
                throw HeaderProblem(key: name, message: "has an invalid \(Self.field(context.codingPath, after: key))")
            } catch {
                throw HeaderProblem(key: name, message: "is not a {dtype, shape, data_offsets} object")
            }
        }
    }

    private static func field(_ path: [CodingKey], after key: Key) -> String {
        guard let i = path.firstIndex(where: { $0.stringValue == key.stringValue }), i + 1 < path.count else { return "entry" }
        return path[i + 1].stringValue
    }
}
