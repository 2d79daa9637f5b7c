import Datasets
import Foundation
import Models
import NN
import Optim
import Serialization

/// libFuzzer harnesses for every reader of untrusted bytes. One executable, the harness chosen
/// by `LACOOT_FUZZ` (idx, idx-gz, cifar, safetensors, checkpoint, manifest, png, jpeg, mat, pth);
/// `scripts/fuzz NAME SECONDS` builds it with `-sanitize=fuzzer,address` and runs it on the
/// seed corpus in Fuzz/corpus/NAME. A harness accepts any error the reader throws — what it
/// must never do is crash, trap, leak out of bounds or allocate without limit.
enum Harness: String, CaseIterable {
    case idx, idxGz = "idx-gz", cifar, safetensors, checkpoint, manifest, png, jpeg, mat, pth

    /// Readers that only take a path see the input through this file.
    static let scratch = FileManager.default.temporaryDirectory
        .appendingPathComponent("lacoot-fuzz-\(ProcessInfo.processInfo.processIdentifier)")

    func run(_ bytes: [UInt8]) {
        do {
            switch self {
            case .idx:
                _ = try IDXArray(parsing: bytes, file: "fuzz.idx")
            case .idxGz:
                _ = try IDXArray(contentsOf: try write(bytes, "fuzz.idx.gz"))
            case .cifar:
                _ = try CIFARLayout.load(files: [try write(bytes, "fuzz.bin")], labelBytes: 1, labelIndex: 0, classCount: 10,
                                         name: "fuzz")
            case .safetensors:
                _ = try Safetensors.decode(Data(bytes), source: "fuzz.safetensors")
            case .checkpoint:
                _ = try TrainingCheckpoint.load(from: URL(fileURLWithPath: try write(bytes, "fuzz.safetensors")))
            case .manifest:
                _ = try ModelManifest(json: Data(bytes), source: "fuzz.json")
            case .png, .jpeg:
                _ = try ImageCodec.decode(bytes, channels: 3, file: "fuzz.image")
            case .mat:
                let file = try MATFile(bytes: bytes, path: "fuzz.mat")
                _ = try? file.integers("labels", in: 1...102)
            case .pth:
                _ = try PyTorchCheckpoint.read(contentsOf: URL(fileURLWithPath: try write(bytes, "fuzz.pth")))
            }
        } catch {
            // a clear error is the expected outcome for hostile bytes
        }
    }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        try FileManager.default.createDirectory(at: Self.scratch, withIntermediateDirectories: true)
        let path = Self.scratch.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

#if LACOOT_FUZZ
nonisolated(unsafe) var selected: Harness?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let name = ProcessInfo.processInfo.environment["LACOOT_FUZZ"] ?? ""
    guard let harness = Harness(rawValue: name) else {
        FileHandle.standardError.write(Data("LACOOT_FUZZ must be one of \(Harness.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(name)\"\n".utf8))
        exit(2)
    }
    selected = harness
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selected?.run(bytes)
    return 0
}

/// libFuzzer's driver (its `main` is not linked: SwiftPM names this executable's entry point).
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<Int32>,
               _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@main struct FuzzMain {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runDriver(&argc, &argv, fuzzerTestOneInput))
    }
}
#else
/// Built without the fuzzer: say how to build it.
@main struct FuzzStub {
    static func main() {
        FileHandle.standardError.write(Data("LacootFuzz is built for fuzzing by scripts/fuzz NAME SECONDS (harnesses: \(Harness.allCases.map(\.rawValue).joined(separator: ", ")))\n".utf8))
        exit(2)
    }
}
#endif
