import Foundation
import NN
import Torch

/// A state dict the file holds: the file's top-level dict, or one entry of a checkpoint dict
/// (`model_state_dict`, `state_dict`, `model`, `ema`, …) whose value maps names to tensors.
public struct StateDictCandidate: Sendable, Equatable {
    /// The checkpoint dict's entry holding it; nil for the file's top-level dict.
    public let key: String?
    /// Its tensor names, in the file's order.
    public let names: [String]

    /// How messages name it: `'model_state_dict'` or "the top-level dict".
    public var label: String { key.map { "'\($0)'" } ?? "the top-level dict" }

    public init(key: String?, names: [String]) {
        self.key = key
        self.names = names
    }
}

/// A file written by PyTorch's `torch.save` (`.pth`/`.pt`), read without Python: the zip format
/// (records read by libtorch's reader) or the legacy pre-1.6 format (``LegacyTorchFile``). The
/// pickle is interpreted by ``PickleReader``, which admits tensors and plain containers only —
/// a file that names anything else (`os.system`, a class of someone's code) is refused and
/// nothing in it runs.
///
/// The file's state dicts are listed as ``candidates`` — the top-level dict when it maps names
/// to tensors, and every entry of a checkpoint dict that does (`{"epoch": 3,
/// "model_state_dict": …, "optimizer_state_dict": …}`: one candidate); the other entries
/// (numbers, optimizer state) are read and ignored. Tensors keep the file's dtype.
public final class PyTorchCheckpoint {
    /// How the file was written.
    public enum Format: String, Sendable {
        case zip = "torch.save"
        case legacy = "torch.save legacy format"
    }

    public let path: String
    public let format: Format
    /// The state dicts in the file, the top-level dict first, then the entries in file order.
    public let candidates: [StateDictCandidate]
    private let references: [String: [(String, TensorReference)]]
    private let storages: any StorageSource

    /// Opens the file at `url` and lists its state dicts; throws one line naming the file for
    /// anything that is not a readable `torch.save` file holding at least one.
    public init(contentsOf url: URL) throws {
        path = url.path
        let root: PickleValue
        if try LegacyTorchFile.isLegacy(url) {
            let legacy = try LegacyTorchFile(contentsOf: url)
            (format, root, storages) = (.legacy, legacy.root, legacy)
        } else {
            let zip = try ZipStorages(url)
            (format, root, storages) = (.zip, try zip.root(), zip)
        }
        var found: [(key: String?, entries: [(String, TensorReference)])] = []
        guard case .dict(let dict) = root else {
            throw NNError("\(path): the pickle holds \(Self.describe(root)), not a dict of tensors (a state dict)")
        }
        let top = Self.tensorEntries(dict)
        if !top.isEmpty { found.append((nil, top)) }
        for (key, value) in dict.entries {
            guard case .string(let name) = key, case .dict(let inner) = value else { continue }
            let entries = Self.tensorEntries(inner)
            if !entries.isEmpty { found.append((name, entries)) }
        }
        guard !found.isEmpty else {
            let keys = dict.entries.prefix(12).map { Self.describe($0.key) }.joined(separator: ", ")
            throw NNError("\(path): no state dict in the file (a dict of \(dict.entries.count) entries: \(keys)) — save model.state_dict()")
        }
        candidates = found.map { StateDictCandidate(key: $0.key, names: $0.entries.map(\.0)) }
        references = Dictionary(found.map { ($0.key ?? "", $0.entries) }, uniquingKeysWith: { first, _ in first })
    }

    /// The tensors of the state dict `candidate` (one of ``candidates``), in the file's order,
    /// each read exactly as `torch.load` reads it (storage offsets and strides applied).
    public func tensors(of candidate: StateDictCandidate) throws -> [NamedTensor] {
        guard let entries = references[candidate.key ?? ""] else {
            throw NNError("\(path): no state dict \(candidate.label) in the file")
        }
        var loaded: [String: Tensor] = [:]
        var tensors: [NamedTensor] = []
        for (name, reference) in entries {
            let storage: Tensor
            if let cached = loaded[reference.storage.key] {
                storage = cached
            } else {
                storage = try storages.storage(reference.storage, dtype: try Self.dtype(of: reference.storage, file: path))
                loaded[reference.storage.key] = storage
            }
            tensors.append((name, try Self.view(reference, of: storage, name: name, file: path)))
        }
        return tensors
    }

    /// The tensors of the file's state dict: the only one, else the top-level dict, else the
    /// first of `state_dict`, `model_state_dict`, `model`, `module`, `net`, `ema`, else the first.
    public static func read(contentsOf url: URL) throws -> [NamedTensor] {
        let file = try PyTorchCheckpoint(contentsOf: url)
        let order: [String?] = [nil, "state_dict", "model_state_dict", "model", "module", "net", "ema"]
        let preferred = order.lazy.compactMap { key in file.candidates.first { $0.key == key } }.first
        return try file.tensors(of: preferred ?? file.candidates[0])
    }

    /// The string-keyed tensor entries of a dict.
    private static func tensorEntries(_ dict: PickleDict) -> [(String, TensorReference)] {
        dict.entries.compactMap { entry in
            guard case .string(let name) = entry.key, case .tensor(let reference) = entry.value else { return nil }
            return (name, reference)
        }
    }

    /// A short description of a pickled value for messages.
    private static func describe(_ value: PickleValue) -> String {
        switch value {
        case .string(let s): "'\(s.prefix(40))'"
        case .int(let i): "\(i)"
        case .tensor: "a single tensor"
        case .list(let l): "a list of \(l.items.count) items"
        case .tuple(let t): "a tuple of \(t.count) items"
        case .dict(let d): "a dict of \(d.entries.count) entries"
        default: "a value of another kind"
        }
    }

    static func dtype(of storage: StorageReference, file: String) throws -> DType {
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
