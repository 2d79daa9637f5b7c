import Foundation
import Torch

/// A state dict saved by PyTorch with `torch.save` (`.pth`/`.pt`, the zip format): read
/// without Python. The archive's records come from libtorch's reader; its pickle is
/// interpreted by ``PickleReader``, which admits tensors and plain containers only — a file
/// that names anything else (`os.system`, a class of someone's code) is refused and nothing
/// in it runs.
///
/// A checkpoint that wraps the state dict (`{"state_dict": …}`, `{"model": …}`,
/// `{"model_state_dict": …}`) is unwrapped; non-tensor entries are skipped.
public enum PyTorchCheckpoint {
    /// The tensors of the state dict in `url`, in the file's order.
    public static func read(contentsOf url: URL) throws -> [NamedTensor] {
        let archive = try open(url)
        let names = try archive.recordNames()
        guard let pickleName = names.first(where: { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }) else {
            throw NNError("\(url.path): no data.pkl in the archive — not a file torch.save wrote")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        var reader = PickleReader(try archive.read(pickleName))
        let root: PickleValue
        do { root = try reader.read() } catch let error as PickleError { throw NNError("\(url.path): \(error.description)") }
        let entries = try stateDictEntries(root, file: url.path)
        var storages: [String: Tensor] = [:]
        var tensors: [NamedTensor] = []
        for (name, reference) in entries {
            let storage: Tensor
            if let cached = storages[reference.storage.key] {
                storage = cached
            } else {
                storage = try load(reference.storage, from: archive, record: prefix + "data/" + reference.storage.key, file: url.path)
                storages[reference.storage.key] = storage
            }
            tensors.append((name, try view(reference, of: storage, name: name, file: url.path)))
        }
        return tensors
    }

    /// The archive, or one line saying why the file is not one.
    private static func open(_ url: URL) throws -> TorchArchive {
        do {
            return try TorchArchive(path: url.path)
        } catch let error as TorchError {
            let head = (try? FileHandle(forReadingFrom: url).read(upToCount: 2)) ?? nil
            if head == Data([0x80, 0x02]) {
                throw NNError("\(url.path): PyTorch's legacy (pre-1.6) format; load it in PyTorch and save it again with torch.save (the zip format), or as .safetensors")
            }
            // libtorch's reader explains at length; its first sentence says what failed
            let reason = "\(error)".components(separatedBy: ". ").first ?? "\(error)"
            throw NNError("\(url.path): not a PyTorch zip archive (\(reason))")
        }
    }

    /// The (key, tensor) pairs of the pickled state dict (unwrapping one level of checkpoint).
    static func stateDictEntries(_ root: PickleValue, file: String) throws -> [(String, TensorReference)] {
        guard case .dict(let dict) = root else { throw NNError("\(file): the pickle holds no dict, so no state dict") }
        for wrapper in ["state_dict", "model_state_dict", "model"] {
            if let inner = dict.entries.first(where: { if case .string(wrapper) = $0.key { true } else { false } }),
               case .dict = inner.value {
                return try stateDictEntries(inner.value, file: file)
            }
        }
        var entries: [(String, TensorReference)] = []
        for (key, value) in dict.entries {
            guard case .string(let name) = key, case .tensor(let reference) = value else { continue }
            entries.append((name, reference))
        }
        guard !entries.isEmpty else { throw NNError("\(file): the pickled dict holds no tensors") }
        return entries
    }

    private static func dtype(of storage: StorageReference, file: String) throws -> DType {
        switch PickleReader.storageTypes[storage.typeName] {
        case .float32: .float32
        case .float64: .float64
        case .float16: .float16
        case .bfloat16: .bfloat16
        case .int64: .int64
        case .int32: .int32
        case .int16: .int16
        case .int8: .int8
        case .uint8: .uint8
        case .bool: .bool
        case nil: throw NNError("\(file): unknown storage type torch.\(storage.typeName)")
        }
    }

    /// A storage's elements; its record must hold exactly the element count it declares.
    private static func load(_ storage: StorageReference, from archive: TorchArchive, record: String, file: String) throws -> Tensor {
        let type = try dtype(of: storage, file: file)
        let size = try archive.size(of: record)
        let (needed, overflow) = storage.elementCount.multipliedReportingOverflow(by: type.byteCount)
        guard !overflow, needed == size else {
            throw NNError("\(file): storage \(storage.key) declares \(storage.elementCount) \(type) elements but its record holds \(size) bytes")
        }
        let bytes = try archive.read(record)
        return try bytes.withUnsafeBytes { try Tensor(bytes: $0, shape: [storage.elementCount], dtype: type) }
    }

    /// The tensor `reference` describes, after checking it stays inside its storage.
    private static func view(_ reference: TensorReference, of storage: Tensor, name: String, file: String) throws -> Tensor {
        var last = reference.offset   // the highest element index the view reaches
        var count = 1
        for (size, stride) in zip(reference.shape, reference.strides) {
            let (c, o1) = count.multipliedReportingOverflow(by: size)
            count = c
            guard !o1 else { throw NNError("\(file): \(name) has an impossible shape \(reference.shape)") }
            if size == 0 { continue }
            let (step, o2) = (size - 1).multipliedReportingOverflow(by: stride)
            let (reach, o3) = last.addingReportingOverflow(step)
            guard !o2, !o3 else { throw NNError("\(file): \(name) has impossible strides \(reference.strides)") }
            last = reach
        }
        guard count == 0 || last < reference.storage.elementCount else {
            throw NNError("\(file): \(name) (shape \(reference.shape), strides \(reference.strides), offset \(reference.offset)) reaches past its storage of \(reference.storage.elementCount) elements")
        }
        return try storage.asStridedCopy(shape: reference.shape, strides: reference.strides, offset: reference.offset)
    }
}
