import Foundation
import Torch

#if canImport(Glibc)
import Glibc
#endif

// MARK: - errors

/// An error that ends a benchmark with one clear line.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

// MARK: - paths

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

    /// The reference interpreter: `LACOOT_PYTHON`, else `.venv-torch/bin/python` (the PyTorch
    /// whose libtorch lacoot builds against, with POT; scripts/setup installs it).
    static var python: URL {
        if let env = ProcessInfo.processInfo.environment["LACOOT_PYTHON"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return root.appendingPathComponent(".venv-torch/bin/python")
    }
}

// MARK: - the Python worker

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

// MARK: - time, statistics, memory, load

/// Monotonic seconds.
@inline(__always)
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Runs `body` `warmup` times untimed, then `reps` times, returning each duration in seconds.
func timeReps(reps: Int, warmup: Int, _ body: () throws -> Void) rethrows -> [Double] {
    for _ in 0..<warmup { try body() }
    var out: [Double] = []
    out.reserveCapacity(reps)
    for _ in 0..<reps {
        let t0 = now()
        try body()
        out.append(now() - t0)
    }
    return out
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted()
    let m = s.count / 2
    return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/// Peak resident set of this process in MB: VmHWM from /proc/self/status, else ru_maxrss.
func peakRSSMegabytes() -> Double {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.dropFirst(6).filter { $0.isNumber }
            if let kb = Double(String(digits)) { return kb / 1024 }
        }
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// The 1-minute load average (from /proc/loadavg), as text.
func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

/// Runs several sides (e.g. Swift, PyTorch) interleaved: `rounds` rounds, each one a block of
/// `perRound` timed reps per side after `warmup` untimed ones, rotating which side goes first,
/// so that a burst of load from other processes hits every side alike. Returns each side's
/// durations, in the order the sides were given.
func interleaved(rounds: Int, perRound: Int, warmup: Int,
                 _ sides: [(_ reps: Int, _ warmup: Int) throws -> [Double]]) throws -> [[Double]] {
    var out = [[Double]](repeating: [], count: sides.count)
    for round in 0..<rounds {
        for k in 0..<sides.count {
            let i = (k + round) % sides.count
            out[i] += try sides[i](perRound, warmup)
        }
    }
    if ProcessInfo.processInfo.environment["LACOOT_BENCH_SAMPLES"] == "1" {
        for (i, samples) in out.enumerated() {
            FileHandle.standardError.write(Data("  side \(i): \(samples.map { fmt($0 * 1e3, 2) }.joined(separator: " ")) ms\n".utf8))
        }
    }
    return out
}

// MARK: - formatting

func fmt(_ value: Double, _ digits: Int = 2) -> String {
    guard value.isFinite else { return "n/a" }
    return String(format: "%.\(digits)f", value)
}

/// A table printed as aligned text on stdout and as Markdown for BENCHMARKS.md.
struct Table {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) { self.header = header }

    mutating func add(_ row: [String]) { rows.append(row) }

    var text: String {
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: max(0, widths[c] - cell.count))
                return c == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    var markdown: String {
        let sep = header.indices.map { $0 == 0 ? "---" : "---:" }
        return ([header, sep] + rows).map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n")
    }
}

/// The last stdout line of every benchmark: one JSON object, keys in the given order.
enum JSONLine {
    enum Value {
        case number(Double, digits: Int)
        /// A number in exponent notation with `digits` significant digits (e.g. 3.4e-16).
        case scientific(Double, digits: Int)
        case string(String)
        case null
    }

    static func encode(_ pairs: [(String, Value)]) -> String {
        "{" + pairs.map { key, value in "\(quote(key)):\(render(value))" }.joined(separator: ",") + "}"
    }

    private static func render(_ v: Value) -> String {
        switch v {
        case let .number(x, digits):
            guard x.isFinite else { return "null" }
            var s = String(format: "%.\(digits)f", x)
            if s.contains(".") {
                while s.hasSuffix("0") { s.removeLast() }
                if s.hasSuffix(".") { s.removeLast() }
            }
            return s == "-0" ? "0" : s
        case let .scientific(x, digits):
            guard x.isFinite else { return "null" }
            return String(format: "%.\(max(digits - 1, 0))e", x)
        case let .string(s): return quote(s)
        case .null: return "null"
        }
    }

    private static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

// MARK: - options and the report section

struct Options {
    var threads: Int = Runtime.activeCores
    /// Interleaved rounds (each side runs a short block of reps per round); nil: the
    /// benchmark's own default.
    var rounds: Int?
    /// Where to write this benchmark's Markdown section (for BENCHMARKS.md).
    var markdown: URL?
    var quick = false

    static let usage = "usage: LacootBench NAME [--threads N] [--rounds R] [--quick] [--markdown FILE]"

    static func parse(_ args: ArraySlice<String>) throws -> Options {
        var o = Options()
        var it = args.makeIterator()
        while let a = it.next() {
            func value() throws -> String {
                guard let v = it.next() else { throw BenchError("\(a) needs a value; \(usage)") }
                return v
            }
            switch a {
            case "--threads":
                guard let n = Int(try value()), n >= 1 else { throw BenchError("--threads needs a positive integer") }
                o.threads = n
            case "--rounds":
                guard let n = Int(try value()), n >= 1 else { throw BenchError("--rounds needs a positive integer") }
                o.rounds = n
            case "--markdown": o.markdown = URL(fileURLWithPath: try value())
            case "--quick": o.quick = true
            default: throw BenchError("unknown option \(a); \(usage)")
            }
        }
        return o
    }
}

/// Collects what a benchmark prints, writes its Markdown section, and prints the JSON line last.
struct Report {
    let name: String
    let options: Options
    var tables: [(title: String, table: Table)] = []
    var notes: [String] = []
    var meaning: [String] = []
    let loadBefore = loadAverage()

    init(name: String, options: Options) {
        self.name = name
        self.options = options
    }

    mutating func add(_ title: String, _ table: Table) { tables.append((title, table)) }

    /// Prints the tables and notes, writes the Markdown section if asked, then the JSON line.
    func finish(json pairs: [(String, JSONLine.Value)]) throws {
        let loadAfter = loadAverage()
        let json = JSONLine.encode(pairs)
        for (title, table) in tables {
            print("\n\(title)\n\(table.text)")
        }
        print("")
        for note in notes { print("note: \(note)") }
        print("load average (1/5/15 min): \(loadBefore) before, \(loadAfter) after")
        if let url = options.markdown {
            var md = "## \(name)\n\n`scripts/bench \(name)` — load average \(loadBefore) before, \(loadAfter) after.\n\n"
            for (title, table) in tables { md += "**\(title)**\n\n\(table.markdown)\n\n" }
            for note in notes { md += "- \(note)\n" }
            if !notes.isEmpty { md += "\n" }
            if !meaning.isEmpty { md += meaning.joined(separator: "\n") + "\n\n" }
            md += "```json\n\(json)\n```\n"
            try md.write(to: url, atomically: true, encoding: .utf8)
        }
        print(json)
    }
}
