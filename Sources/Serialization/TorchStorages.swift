import Foundation
import NN
import Torch

/// Where the storages of a `torch.save` file come from: the zip format's `data/<key>` records
/// or the legacy format's raw blocks after its pickles.
protocol StorageSource {
    /// The storage's elements as a 1-D tensor of `dtype`; its bytes must be exactly the element
    /// count it declares.
    func storage(_ storage: StorageReference, dtype: DType) throws -> Tensor
}

/// The zip format (PyTorch ≥ 1.6): `<folder>/data.pkl` and one record per storage, read with
/// libtorch's reader after ``TorchArchive`` has bounded every record by the file's size.
struct ZipStorages: StorageSource {
    let archive: TorchArchive
    let file: String
    /// The archive's folder ("archive/", "ck/", …) before data.pkl and data/.
    private let prefix: String

    /// Opens the archive, or throws one line saying why the file is not one.
    init(_ url: URL) throws {
        file = url.path
        do {
            archive = try TorchArchive(path: url.path)
        } catch let error as TorchError {
            // libtorch's reader explains at length; its first sentence says what failed
            let reason = "\(error)".components(separatedBy: ". ").first ?? "\(error)"
            throw NNError("\(url.path): not a PyTorch zip archive (\(reason))")
        }
        let names = try archive.recordNames()
        guard let pickle = names.first(where: { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }) else {
            throw NNError("\(url.path): no data.pkl in the archive — not a file torch.save wrote")
        }
        prefix = String(pickle.dropLast("data.pkl".count))
    }

    /// The archive's pickle, interpreted.
    func root() throws -> PickleValue {
        var reader = PickleReader(try archive.read(prefix + "data.pkl"))
        do { return try reader.read() } catch let error as PickleError { throw NNError("\(file): \(error.description)") }
    }

    func storage(_ storage: StorageReference, dtype: DType) throws -> Tensor {
        let record = prefix + "data/" + storage.key
        let size = try archive.size(of: record)
        let (needed, overflow) = storage.elementCount.multipliedReportingOverflow(by: dtype.byteCount)
        guard !overflow, needed == size else {
            throw NNError("\(file): storage \(storage.key) declares \(storage.elementCount) \(dtype) elements but its record holds \(size) bytes")
        }
        let bytes = try archive.read(record)
        return try bytes.withUnsafeBytes { try Tensor(bytes: $0, shape: [storage.elementCount], dtype: dtype) }
    }
}
