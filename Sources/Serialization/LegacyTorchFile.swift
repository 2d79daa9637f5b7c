import Foundation
import LacootSupport
import NN
import Torch

/// PyTorch's legacy `torch.save` format (before 1.6, or `_use_new_zipfile_serialization=False`):
/// five pickles one after the other — the magic number, the protocol version (1001), the system
/// information (byte order, type sizes), the object (storages as persistent ids), the list of
/// storage keys — then, for each key in that list, the storage's element count (8 bytes, little
/// endian) and its raw elements. Read as a whole (it is bounded by the file's size); every
/// block is checked against the file's end and against the count its persistent id declares.
struct LegacyTorchFile: StorageSource {
    /// The first pickle: protocol 2, LONG1 of 10 bytes = 0x1950a86a20f9469cfc6c, STOP.
    static let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]

    let file: String
    /// The pickled object.
    let root: PickleValue
    private let bytes: [UInt8]
    /// Each storage's first data byte and element count.
    private let blocks: [String: (offset: Int, count: Int)]

    /// Whether `url` starts with the legacy format's magic number.
    static func isLegacy(_ url: URL) throws -> Bool {
        guard RegularFile.problem(at: url.path) == nil, let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        return (try handle.read(upToCount: magic.count)).map { [UInt8]($0) } == magic
    }

    init(contentsOf url: URL) throws {
        file = url.path
        if let problem = RegularFile.problem(at: url.path) { throw NNError("\(file) \(problem)") }
        do { bytes = [UInt8](try Data(contentsOf: url)) } catch {
            throw NNError("\(file): cannot read it (\(error.localizedDescription))")
        }
        var reader = PickleReader(bytes, from: Self.magic.count)
        let keys: [String]
        do {
            guard case .int(1001) = try reader.read() else { throw PickleError("the protocol version is not 1001") }
            guard case .dict(let info) = try reader.read(),
                  info.entries.contains(where: { entry in
                      if case .string("little_endian") = entry.key, case .bool(true) = entry.value { true } else { false }
                  }) else {
                throw PickleError("the file was written on a big-endian machine or its system information is missing")
            }
            root = try reader.read()
            guard case .list(let list) = try reader.read() else { throw PickleError("the storage key list is missing") }
            keys = try list.items.map { item in
                guard case .string(let key) = item else { throw PickleError("a storage key that is not a string") }
                return key
            }
        } catch let error as PickleError {
            throw NNError("\(file): legacy torch.save format, truncated or damaged: \(error.description)")
        }
        blocks = try Self.locateBlocks(keys, in: bytes, from: reader.position, declared: Self.storages(in: root), file: file)
    }

    /// Walks the blocks after the pickles: each must hold the element count its persistent id
    /// declares and end inside the file.
    private static func locateBlocks(_ keys: [String], in bytes: [UInt8], from start: Int,
                                     declared: [String: StorageReference], file: String) throws -> [String: (offset: Int, count: Int)] {
        var blocks: [String: (offset: Int, count: Int)] = [:]
        var position = start
        for key in keys {
            guard let reference = declared[key] else { throw NNError("\(file): storage \(key) is listed but no tensor uses it") }
            let size = try PyTorchCheckpoint.dtype(of: reference, file: file).byteCount
            guard bytes.count - position >= 8 else {
                throw NNError("\(file): truncated: the file ends at byte \(bytes.count), before storage \(key)'s element count")
            }
            let count = bytes[position..<position + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard count == UInt64(reference.elementCount) else {
                throw NNError("\(file): storage \(key) holds \(count) elements but its tensors declare \(reference.elementCount)")
            }
            let (length, overflow) = reference.elementCount.multipliedReportingOverflow(by: size)
            guard !overflow, bytes.count - position - 8 >= length else {
                throw NNError("\(file): truncated: storage \(key) needs \(reference.elementCount) elements at byte \(position + 8), the file ends at byte \(bytes.count)")
            }
            blocks[key] = (position + 8, reference.elementCount)
            position += 8 + length
        }
        return blocks
    }

    /// Every storage the object refers to, by key (an explicit stack: no recursion on hostile depth).
    private static func storages(in root: PickleValue) -> [String: StorageReference] {
        var found: [String: StorageReference] = [:]
        var pending = [root]
        while let value = pending.popLast() {
            switch value {
            case .storage(let s): found[s.key] = s
            case .tensor(let t): found[t.storage.key] = t.storage
            case .tuple(let items): pending += items
            case .list(let list): pending += list.items
            case .dict(let dict): for (k, v) in dict.entries { pending += [k, v] }
            default: break
            }
        }
        return found
    }

    func storage(_ storage: StorageReference, dtype: DType) throws -> Tensor {
        guard let block = blocks[storage.key], block.count == storage.elementCount else {
            throw NNError("\(file): storage \(storage.key) is not among the file's storages")
        }
        return try bytes.withUnsafeBytes { all in
            let slice = UnsafeRawBufferPointer(rebasing: all[block.offset..<block.offset + block.count * dtype.byteCount])
            return try Tensor(bytes: slice, shape: [block.count], dtype: dtype)
        }
    }
}
