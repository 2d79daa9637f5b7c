import Foundation

/// The Python references the parity tests compare with, found in the repository's virtual
/// environments (`scripts/setup` makes both). A test that needs one is enabled only when it is
/// there — `@Test(.enabled(if: ReferencePython.hasEngine, "…"))` — so a missing reference
/// shows as a skipped test, never as a passed one.
public enum ReferencePython {
    /// The repository root (this file is Tests/TestSupport/ReferencePython.swift).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `.venv-ref`: Debian's PyTorch 1.13 and torchvision 0.14 (the independent reference).
    public static let reference = repositoryRoot.appendingPathComponent(".venv-ref/bin/python")
    /// `.venv-torch`: PyTorch 2.13, the wheel whose libtorch the engine links (torchvision 0.28 without its C++ ops).
    public static let engine = repositoryRoot.appendingPathComponent(".venv-torch/bin/python")

    public static var hasReference: Bool { FileManager.default.isExecutableFile(atPath: reference.path) }
    public static var hasEngine: Bool { FileManager.default.isExecutableFile(atPath: engine.path) }

    /// Whether the engine's Python imports torchvision (through Benchmarks/reference/torchvision_cpu.py).
    public static let engineHasTorchvision: Bool = {
        guard hasEngine else { return false }
        let script = "import sys; sys.path.insert(0, '\(repositoryRoot.path)/Benchmarks/reference'); import torchvision_cpu"
        return (try? run(engine, ["-c", script]).status) == 0
    }()

    /// Whether the reference venv imports `onnx` and `onnxruntime` (PyPI, through scripts/setup-python).
    public static let hasONNXRuntime: Bool = {
        guard hasReference else { return false }
        return (try? run(reference, ["-c", "import onnx, onnxruntime"]).status) == 0
    }()

    /// What a Python process printed and how it ended.
    public struct Result {
        public let status: Int32
        public let output: String
        public let errors: String
    }

    /// Runs `python` with `arguments` (in `directory` when given) and waits for it.
    @discardableResult
    public static func run(_ python: URL, _ arguments: [String], in directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = python
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        // stderr to a file, stdout through a pipe read to its end: neither can fill up and block the process
        let errorsURL = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-python-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errorsURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorsURL) }
        let errors = try FileHandle(forWritingTo: errorsURL)
        defer { try? errors.close() }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errorData = (try? Data(contentsOf: errorsURL)) ?? Data()
        return Result(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                      errors: String(decoding: errorData, as: UTF8.self))
    }
}
