import Foundation

/// Where the repository is: `LACOOT_ROOT` (set by scripts/bench), else the first folder
/// upwards from the working directory that holds `Benchmarks/reference/worker.py`, else the
/// folder this source file was compiled from.
enum Repo {
    static let root: URL = {
        let fm = FileManager.default
        func holdsWorker(_ url: URL) -> Bool {
            fm.fileExists(atPath: url.appendingPathComponent("Benchmarks/reference/worker.py").path)
        }
        if let env = ProcessInfo.processInfo.environment["LACOOT_ROOT"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        var dir = URL(fileURLWithPath: fm.currentDirectoryPath)
        while dir.path != "/" {
            if holdsWorker(dir) { return dir }
            dir.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }()

    static var workerScript: URL { root.appendingPathComponent("Benchmarks/reference/worker.py") }
    /// The ONNX Runtime worker (`scripts/bench export`).
    static var ortWorkerScript: URL { root.appendingPathComponent("Benchmarks/reference/ort_worker.py") }
    /// `.venv-ref/bin/python`: Debian's Python with onnx and onnxruntime from PyPI (scripts/setup-python).
    static var referencePython: URL { root.appendingPathComponent(".venv-ref/bin/python") }

    /// The reference interpreter: `LACOOT_PYTHON`, else `.venv-torch/bin/python` (the PyTorch
    /// whose libtorch lacoot builds against, with POT; scripts/setup installs it).
    static var python: URL {
        if let env = ProcessInfo.processInfo.environment["LACOOT_PYTHON"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return root.appendingPathComponent(".venv-torch/bin/python")
    }
}
