import Foundation

/// A value of a restricted pickle: plain containers, numbers, strings, and the two things a
/// PyTorch state dict is made of — tensor rebuilds and storage references.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// An allowed global (module, name), e.g. ("torch", "FloatStorage").
    case global(String, String)
    /// A persistent storage reference: ('storage', type, key, location, element count).
    case storage(StorageReference)
    /// A tensor view of a storage: `_rebuild_tensor_v2`'s arguments.
    case tensor(TensorReference)
}

/// A list or dict is shared through the memo and filled after it is created: a reference type.
final class PickleList { var items: [PickleValue] = [] }
final class PickleDict { var entries: [(key: PickleValue, value: PickleValue)] = [] }

struct StorageReference {
    let key: String
    /// torch's legacy storage class name ("FloatStorage", …), which names the element type.
    let typeName: String
    let elementCount: Int
}

struct TensorReference {
    let storage: StorageReference
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// Why a pickle is refused.
public struct PickleError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Interprets the pickle `torch.save` writes for a state dict, admitting only what such a file
/// holds: dicts (OrderedDict too), lists, tuples, numbers, strings, storages and tensor
/// rebuilds. Any other global (`os.system`, a class of the user's code) is refused by name
/// before anything is built — nothing is ever executed, whatever the file says.
struct PickleReader {
    /// The globals a state dict may name.
    static let allowedGlobals = Set(["collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                     "torch._utils._rebuild_parameter"] + storageTypes.keys.map { "torch." + $0 })

    /// torch's storage classes and the element type each holds.
    static let storageTypes: [String: DTypeName] = [
        "FloatStorage": .float32, "DoubleStorage": .float64, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16, "CharStorage": .int8,
        "ByteStorage": .uint8, "BoolStorage": .bool,
    ]
    enum DTypeName { case float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool }

    private let bytes: [UInt8]
    /// The next byte to read: after ``read()``, just past the pickle's STOP (the legacy format
    /// writes several pickles one after the other).
    private(set) var position: Int
    private var stack: [PickleValue?] = []    // nil = MARK
    private var memo: [Int: PickleValue] = [:]

    /// A reader of the pickle that starts at byte `position` of `bytes`.
    init(_ bytes: [UInt8], from position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    /// The pickled value. Throws ``PickleError`` naming the offset and what is wrong.
    mutating func read() throws -> PickleValue {
        while true {
            let opcode = try byte()
            switch opcode {
            case 0x80: _ = try byte()                                         // PROTO
            case 0x95: position += 8                                          // FRAME (protocol 4)
            case 0x2E: return try pop("STOP")                                 // STOP '.'
            case 0x28: stack.append(nil)                                      // MARK '('
            case 0x7D: stack.append(.dict(PickleDict()))                      // EMPTY_DICT '}'
            case 0x5D: stack.append(.list(PickleList()))                      // EMPTY_LIST ']'
            case 0x29: stack.append(.tuple([]))                               // EMPTY_TUPLE ')'
            case 0x4E: stack.append(PickleValue.none)                         // NONE 'N'
            case 0x88: stack.append(.bool(true))                              // NEWTRUE
            case 0x89: stack.append(.bool(false))                             // NEWFALSE
            case 0x4B: stack.append(.int(Int(try byte())))                    // BININT1 'K'
            case 0x4D: stack.append(.int(Int(try littleEndian(2))))           // BININT2 'M'
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try littleEndian(4)))))   // BININT 'J'
            case 0x8A: stack.append(.int(try long1()))                        // LONG1
            case 0x47: stack.append(.float(Double(bitPattern: try bigEndian(8))))   // BINFLOAT 'G'
            case 0x58: stack.append(.string(try text(count: Int(try littleEndian(4)))))   // BINUNICODE 'X'
            case 0x8C: stack.append(.string(try text(count: Int(try byte()))))  // SHORT_BINUNICODE
            case 0x43: stack.append(.bytes(try take(Int(try byte()))))         // SHORT_BINBYTES 'C'
            case 0x42: stack.append(.bytes(try take(Int(try littleEndian(4)))))   // BINBYTES 'B'
            case 0x71: memo[Int(try byte())] = try top()                      // BINPUT 'q'
            case 0x72: memo[Int(try littleEndian(4))] = try top()             // LONG_BINPUT 'r'
            case 0x94: memo[memo.count] = try top()                           // MEMOIZE
            case 0x68: stack.append(try recall(Int(try byte())))              // BINGET 'h'
            case 0x6A: stack.append(try recall(Int(try littleEndian(4))))     // LONG_BINGET 'j'
            case 0x63: stack.append(try global())                             // GLOBAL 'c'
            case 0x74: stack.append(.tuple(try popToMark()))                  // TUPLE 't'
            case 0x85: stack.append(.tuple(try popCount(1)))                  // TUPLE1
            case 0x86: stack.append(.tuple(try popCount(2)))                  // TUPLE2
            case 0x87: stack.append(.tuple(try popCount(3)))                  // TUPLE3
            case 0x61: try append(try popCount(1))                            // APPEND 'a'
            case 0x65: try append(try popToMark())                            // APPENDS 'e'
            case 0x73: try setItems(try popCount(2))                          // SETITEM 's'
            case 0x75: try setItems(try popToMark())                          // SETITEMS 'u'
            case 0x51: stack.append(.storage(try storage(try pop("BINPERSID"))))   // BINPERSID 'Q'
            case 0x52: try reduce()                                           // REDUCE 'R'
            case 0x62: _ = try pop("BUILD")                                   // BUILD 'b': an OrderedDict's
                                                                              // _metadata, dropped
            default:
                throw PickleError(String(format: "unsupported pickle opcode 0x%02x at byte %d", opcode, position - 1))
            }
        }
    }

    // MARK: - Reading bytes

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw PickleError("the pickle ends at byte \(position) without STOP") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= bytes.count - position else {
            throw PickleError("a \(count)-byte field at byte \(position) runs past the pickle's end (\(bytes.count) bytes)")
        }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    private mutating func littleEndian(_ count: Int) throws -> UInt64 {
        try take(count).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    private mutating func bigEndian(_ count: Int) throws -> UInt64 {
        try take(count).reduce(0) { $0 << 8 | UInt64($1) }
    }

    private mutating func long1() throws -> Int {
        let field = try take(Int(try byte()))
        guard field.count <= 8 else { throw PickleError("an integer of \(field.count) bytes at byte \(position) is too large") }
        guard let last = field.last else { return 0 }
        var value = field.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if last & 0x80 != 0, field.count < 8 { value |= ~UInt64(0) << (8 * field.count) }   // sign-extend
        return Int(Int64(bitPattern: value))
    }

    private mutating func text(count: Int) throws -> String {
        guard let s = String(bytes: try take(count), encoding: .utf8) else {
            throw PickleError("invalid UTF-8 in a string at byte \(position - count)")
        }
        return s
    }

    private mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A), end - position <= 1024 else {
            throw PickleError("an unterminated name at byte \(position)")
        }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    // MARK: - The stack

    private func top() throws -> PickleValue {
        guard let last = stack.last, let value = last else { throw PickleError("memo of an empty stack at byte \(position)") }
        return value
    }

    private mutating func pop(_ op: String) throws -> PickleValue {
        guard let last = stack.popLast(), let value = last else { throw PickleError("\(op) on an empty stack at byte \(position)") }
        return value
    }

    private mutating func popCount(_ n: Int) throws -> [PickleValue] {
        var values: [PickleValue] = []
        for _ in 0..<n { values.insert(try pop("an operation"), at: 0) }
        return values
    }

    private mutating func popToMark() throws -> [PickleValue] {
        guard let mark = stack.lastIndex(where: { $0 == nil }) else { throw PickleError("no MARK before byte \(position)") }
        let values = stack[(mark + 1)...].map { $0! }
        stack.removeSubrange(mark...)
        return values
    }

    private func recall(_ index: Int) throws -> PickleValue {
        guard let value = memo[index] else { throw PickleError("memo entry \(index) read before it was written") }
        return value
    }

    // MARK: - Operations

    private mutating func global() throws -> PickleValue {
        let module = try line(), name = try line()
        guard Self.allowedGlobals.contains(module + "." + name) else {
            let system = ["posix", "os", "nt", "subprocess", "builtins", "__builtin__", "sys", "shutil", "socket", "runpy",
                          "importlib", "pickle", "code", "ctypes"]
            let hint = system.contains(where: { module == $0 || module.hasPrefix($0 + ".") }) ? ""
                : " (an object of a class, e.g. a whole model saved with torch.save(model): save model.state_dict() instead)"
            throw PickleError("refused: the pickle names \(module).\(name); a state dict holds only tensors and plain containers\(hint)")
        }
        return .global(module, name)
    }

    private mutating func append(_ values: [PickleValue]) throws {
        guard case .list(let list) = try top() else { throw PickleError("APPEND to a non-list at byte \(position)") }
        list.items += values
    }

    private mutating func setItems(_ values: [PickleValue]) throws {
        guard case .dict(let dict) = try top(), values.count % 2 == 0 else {
            throw PickleError("SETITEMS on a non-dict at byte \(position)")
        }
        for i in stride(from: 0, to: values.count, by: 2) { dict.entries.append((values[i], values[i + 1])) }
    }

    /// ('storage', type, key, location, element count), plus a sixth entry, the view metadata,
    /// in the legacy format (None since PyTorch 0.4; a storage view before that).
    private func storage(_ id: PickleValue) throws -> StorageReference {
        guard case .tuple(let t) = id, t.count == 5 || t.count == 6, case .string("storage") = t[0],
              case .global("torch", let type) = t[1], case .string(let key) = t[2], case .int(let count) = t[4], count >= 0 else {
            throw PickleError("a persistent id that is not a storage reference at byte \(position)")
        }
        if t.count == 6, case .none = t[5] {} else if t.count == 6 {
            throw PickleError("a storage view (PyTorch before 0.4) at byte \(position); load the file in PyTorch and save it again")
        }
        return StorageReference(key: key, typeName: type, elementCount: count)
    }

    private mutating func reduce() throws {
        let arguments = try pop("REDUCE"), callable = try pop("REDUCE")
        guard case .global(let module, let name) = callable, case .tuple(let args) = arguments else {
            throw PickleError("REDUCE of something not callable at byte \(position)")
        }
        switch (module, name) {
        case ("collections", "OrderedDict"):
            stack.append(.dict(PickleDict()))
        case ("torch._utils", "_rebuild_tensor_v2"):
            guard args.count >= 4, case .storage(let storage) = args[0], case .int(let offset) = args[1],
                  case .tuple(let shape) = args[2], case .tuple(let strides) = args[3] else {
                throw PickleError("_rebuild_tensor_v2 with unexpected arguments at byte \(position)")
            }
            let sizes = try shape.map(Self.integer), steps = try strides.map(Self.integer)
            guard sizes.count == steps.count, offset >= 0, sizes.allSatisfy({ $0 >= 0 }), steps.allSatisfy({ $0 >= 0 }) else {
                throw PickleError("a tensor with an invalid shape \(sizes), strides \(steps) or offset \(offset)")
            }
            stack.append(.tensor(TensorReference(storage: storage, offset: offset, shape: sizes, strides: steps)))
        case ("torch._utils", "_rebuild_parameter"):
            guard let first = args.first, case .tensor = first else {
                throw PickleError("_rebuild_parameter without a tensor at byte \(position)")
            }
            stack.append(first)
        default:
            throw PickleError("refused: the pickle calls \(module).\(name)")
        }
    }

    private static func integer(_ value: PickleValue) throws -> Int {
        guard case .int(let i) = value else { throw PickleError("a tensor size that is not an integer") }
        return i
    }
}
