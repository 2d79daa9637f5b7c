import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A persistent PyTorch process (`Benchmarks/reference/worker.py`) driven over pipes:
/// one JSON object per line each way (protocol in `Benchmarks/reference/README.md`).
///
/// ```swift
/// let py = try PythonWorker(threads: 2)
/// let info = try py.info()                                   // ["torch": "1.13.1", "threads": 2, …]
/// let s = try py.seconds(["cmd": "engine", "case": "matmul", "reps": 5, "warmup": 1])
/// let mb = try py.peakRSSMegabytes()
/// py.close()                                                 // also done by deinit
/// ```
/// The worker's stderr (its logs) goes to a temporary file whose tail is quoted when a
/// request fails or the worker dies.
final class PythonWorker {
    let python: URL
    let threads: Int
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let logURL: URL
    private var buffer: [UInt8] = []
    private var closed = false

    /// Starts the worker and waits until it answers `info`.
    /// - Parameters:
    ///   - python: interpreter (default `Repo.python`, i.e. `.venv-torch/bin/python`).
    ///   - threads: torch intra-op threads for the worker (`--threads`).
    ///   - script: the worker script (default `Benchmarks/reference/worker.py`).
    init(python: URL = Repo.python, threads: Int, script: URL = Repo.workerScript) throws {
        self.python = python
        self.threads = threads
        let fm = FileManager.default
        guard fm.isExecutableFile(atPath: python.path) else {
            throw BenchError("the PyTorch reference environment is missing: no \(python.path); run scripts/setup-python (scripts/bench does it for you)")
        }
        guard fm.fileExists(atPath: script.path) else {
            throw BenchError("the PyTorch worker is missing: no \(script.path)")
        }
        signal(SIGPIPE, SIG_IGN)   // a dead worker must give an error, not kill us
        logURL = fm.temporaryDirectory.appendingPathComponent("lacoot-worker-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log")
        _ = fm.createFile(atPath: logURL.path, contents: nil)
        process.executableURL = python
        process.arguments = [script.path, "--threads", String(threads)]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: logURL)
        var env = ProcessInfo.processInfo.environment
        env["PYTHONUNBUFFERED"] = "1"
        process.environment = env
        do { try process.run() } catch {
            throw BenchError("cannot start \(python.path) \(script.path): \(error)")
        }
        _ = try info()
    }

    deinit { close() }

    /// Sends one request and returns the decoded reply; a reply with `error` throws it.
    func request(_ body: [String: Any]) throws -> [String: Any] {
        guard !closed else { throw BenchError("the PyTorch worker was already closed") }
        var data = try JSONSerialization.data(withJSONObject: body)
        data.append(UInt8(ascii: "\n"))
        do { try input.fileHandleForWriting.write(contentsOf: data) } catch {
            throw BenchError("the PyTorch worker is not accepting requests (\(error)); its log ends with:\n\(logTail())")
        }
        let line = try readLine()
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)),
              let reply = object as? [String: Any] else {
            throw BenchError("the PyTorch worker sent a line that is not a JSON object: \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
        if let message = reply["error"] as? String {
            throw BenchError("the PyTorch worker failed on \(body["cmd"] ?? "?"): \(message)")
        }
        return reply
    }

    /// A request whose reply is `{"seconds": [...]}`.
    func seconds(_ body: [String: Any]) throws -> [Double] {
        let reply = try request(body)
        guard let values = reply["seconds"] as? [Any] else {
            throw BenchError("the PyTorch worker's reply to \(body["cmd"] ?? "?") has no seconds: \(reply)")
        }
        return values.compactMap { ($0 as? NSNumber)?.doubleValue }
    }

    /// `{"torch", "threads", "python", "pot", "numpy"}`.
    func info() throws -> [String: Any] { try request(["cmd": "info"]) }

    /// The worker's peak resident set (ru_maxrss) in MB.
    func peakRSSMegabytes() throws -> Double {
        guard let mb = (try request(["cmd": "rss"])["peak_rss_mb"] as? NSNumber)?.doubleValue else {
            throw BenchError("the PyTorch worker's rss reply has no peak_rss_mb")
        }
        return mb
    }

    /// Asks the worker to quit and waits for it (kills it if it does not answer).
    func close() {
        guard !closed else { return }
        closed = true
        if process.isRunning {
            if let data = "{\"cmd\":\"quit\"}\n".data(using: .utf8) {
                try? input.fileHandleForWriting.write(contentsOf: data)
            }
            try? input.fileHandleForWriting.close()
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: logURL)
    }

    private func readLine() throws -> [UInt8] {
        let fd = output.fileHandleForReading.fileDescriptor
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                return line
            }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer.append(contentsOf: chunk[..<n])
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                throw BenchError("the PyTorch worker (\(python.path)) exited without replying; its log ends with:\n\(logTail())")
            }
        }
    }

    private func logTail(lines: Int = 15) -> String {
        guard let text = try? String(contentsOf: logURL, encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
