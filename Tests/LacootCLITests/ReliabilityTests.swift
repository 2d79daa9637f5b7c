import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Runs the built `lacoot` executable (with `environment` over this process's); kills it after
/// `seconds` (`timedOut`: a hang fails the test instead of stalling the suite).
func lacoot(_ arguments: [String], within seconds: Double,
            environment: [String: String] = [:]) throws -> (code: Int32, out: String, err: String, timedOut: Bool) {
    let process = Process()
    process.executableURL = try executable()
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let deadline = DispatchTime.now() + seconds
    let killer = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    DispatchQueue.global().asyncAfter(deadline: deadline, execute: killer)
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    killer.cancel()
    let timedOut = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self), timedOut)
}

/// An IDX file: magic, big-endian dimensions, data.
func idx(_ dimensions: [UInt32], _ data: [UInt8]) -> Data {
    var bytes: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
    for d in dimensions { bytes += [UInt8(d >> 24), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
    return Data(bytes + data)
}

/// A safetensors file split into its JSON header and its data bytes.
func safetensorsParts(_ path: String) throws -> (header: [String: Any], data: Data) {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    var length = 0
    for i in (0..<8).reversed() { length = length << 8 | Int(data[i]) }
    let header = try JSONSerialization.jsonObject(with: data[8..<(8 + length)]) as! [String: Any]
    return (header, data[(8 + length)...])
}

/// Rewrites a safetensors file's `__metadata__` (the header only; the data offsets stay valid).
func editMetadata(of path: String, _ edit: (inout [String: String]) -> Void) throws {
    var (header, data) = try safetensorsParts(path)
    var meta = header["__metadata__"] as? [String: String] ?? [:]
    edit(&meta)
    header["__metadata__"] = meta
    let newHeader = try JSONSerialization.data(withJSONObject: header)
    var out = Data()
    for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: newHeader.count >> (8 * i))) }
    out += newHeader
    out += data
    try out.write(to: URL(fileURLWithPath: path))
}

/// Hostile inputs from docs/RELIABILITY.md: each ends with exit 2 (usage) or 1 (runtime) and
/// one line naming the flag, file or field — no trap, no hang.
@Suite(.serialized) struct ReliabilityTests {
    /// Numeric flags beyond their range (each trapped before: SIGILL) are usage errors naming the flag.
    @Test func outOfRangeNumbersAreUsageErrors() throws {
        let cases: [([String], String)] = [
            (["info", "--threads", "2147483648"], "--threads"),
            (["train", "--run-dir", "x", "--pad-to", "4000000000"], "--pad-to"),
            (["train", "--run-dir", "x", "--epochs", "9223372036854775807"], "--epochs"),
            (["demo", "--lambda", "1e19"], "--lambda"),
            (["demo", "--lambdas", "0", "1e300"], "--lambdas"),
            (["train", "--run-dir", "x", "--lr", "nan"], "--lr"),
            (["train", "--run-dir", "x", "--batch-size", "1000000"], "--batch-size"),
            (["train", "--run-dir", "x", "--width", "100000"], "--width"),
            (["train", "--run-dir", "x", "--image-size", "0"], "--image-size"),
            (["train", "--run-dir", "x", "--max-batches", "0"], "--max-batches"),
            (["train", "--run-dir", "x", "--milestones", "-3", "--schedule", "multistep"], "--milestones"),
            (["train", "--run-dir", "x", "--lambda-warmup", "inf"], "--lambda-warmup"),
            (["score", "--run-dir", "x", "--projections", "99999999"], "--projections"),
            (["collapse", "--run-dir", "x", "--max-drop", "1e300"], "--max-drop"),
            (["evaluate", "--run-dir", "x", "--repeats", "0"], "--repeats"),
        ]
        for (args, flag) in cases {
            let r = try lacoot(args, within: 60)
            #expect(r.code == 2, "\(args): exit \(r.code), \(r.err)")
            expectOneLine(r.err, contains: flag)
        }
    }

    /// An IDX file with a zero dimension (whose product hid an overflow: SIGILL before) is a
    /// runtime error naming the file and the dimension.
    @Test func zeroDimensionIDX() throws {
        let dir = try scratch()
        for prefix in ["train", "t10k"] {
            try idx([0, 0xFFFF_FFFF, 0xFFFF_FFFF], []).write(to: URL(fileURLWithPath: "\(dir)/\(prefix)-images-idx3-ubyte"))
            try idx([0], []).write(to: URL(fileURLWithPath: "\(dir)/\(prefix)-labels-idx1-ubyte"))
        }
        let r = try lacoot(["train", "--run-dir", dir + "/run", "--dataset", "mnist", "--data-dir", dir, "--quiet"], within: 60)
        #expect(r.code == 1, "\(r.err)")
        expectOneLine(r.err, contains: "train-images-idx3-ubyte' at byte 4: expected a dimension ≥ 1")
    }

    /// A FIFO where a data file is expected (it hung before, waiting for a writer) is an error naming the path.
    @Test func fifoWhereADataFileIsExpected() throws {
        let dir = try scratch()
        #expect(mkfifo(dir + "/train-images-idx3-ubyte", 0o644) == 0)
        try idx([1], [0]).write(to: URL(fileURLWithPath: dir + "/train-labels-idx1-ubyte"))
        let r = try lacoot(["train", "--run-dir", dir + "/run", "--dataset", "mnist", "--data-dir", dir, "--quiet"], within: 30)
        #expect(!r.timedOut, "hung on the FIFO")
        #expect(r.code == 1, "\(r.err)")
        expectOneLine(r.err, contains: dir + "/train-images-idx3-ubyte': it is a FIFO")
    }

    /// A checkpoint whose metadata puts the run outside its configuration (epoch -1 or 99, a
    /// partial epoch past the epoch's batches; SIGILL before) is refused naming the file and field.
    @Test func tamperedCheckpointMetadata() throws {
        let dir = try scratch() + "/run"
        var r = try lacoot(["train", "--run-dir", dir, "--width", "4", "--epochs", "2", "--max-batches", "2",
                            "--batch-size", "32", "--train-limit", "100", "--test-limit", "20", "--lambda", "0", "--quiet"], within: 120)
        #expect(r.code == 0, "\(r.err)")
        let checkpoint = dir + "/checkpoint.safetensors"
        let original = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        let partial = #"{"steps":7,"samples":0,"lossSum":0,"crossEntropySum":0,"regularizerSum":0,"correct":0,"lambda":0,"secondsBefore":0}"#
        let edits: [(String, (inout [String: String]) -> Void)] = [
            (#"entry "epoch" is -1"#, { $0["epoch"] = "-1" }),
            ("invalid epoch: 99 epochs completed", { $0["epoch"] = "99" }),
            ("invalid partial_epoch: 7 steps", { $0["epoch"] = "1"; $0["partial_epoch"] = partial }),
        ]
        for (expected, edit) in edits {
            try original.write(to: URL(fileURLWithPath: checkpoint))
            try editMetadata(of: checkpoint, edit)
            r = try lacoot(["train", "--run-dir", dir, "--resume", "--quiet"], within: 60)
            #expect(r.code == 1, "\(expected): exit \(r.code), \(r.err)")
            expectOneLine(r.err, contains: checkpoint)
            expectOneLine(r.err, contains: expected)
        }
    }

    /// The demo's own run folders (ResNet-18 written without its shortcut) work with evaluate,
    /// score, collapse and resume; evaluate was refused before ("is a ResNet-18 …, but … trained
    /// a ResNet-18 …").
    @Test func demoRunFoldersWorkWithEveryCommand() throws {
        let out = try scratch() + "/demo"
        var r = try lacoot(["demo", "--epochs", "1", "--width", "4", "--train-limit", "300", "--test-limit", "60",
                            "--out", out, "--no-latency", "--quiet", "--json"], within: 300)
        #expect(r.code == 0, "\(r.err)")
        let regularized = out + "/lambda-1", baseline = out + "/lambda-0"
        r = try lacoot(["evaluate", "--run-dir", regularized, "--model", regularized + "/collapsed.json",
                        "--repeats", "1", "--json", "--quiet"], within: 120)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("\"accuracy\""), "\(r.out)")
        r = try lacoot(["score", "--run-dir", baseline, "--projections", "8", "--json", "--quiet"], within: 120)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("layer4.1"), "\(r.out)")
        r = try lacoot(["collapse", "--run-dir", baseline, "--remove", "1", "--no-latency", "--json", "--quiet"], within: 120)
        #expect(r.code == 0, "\(r.err)")
        r = try lacoot(["train", "--run-dir", regularized, "--resume", "--quiet"], within: 120)
        #expect(r.code == 0, "\(r.err)")
        // a second demo into the same folder needs --force
        r = try lacoot(["demo", "--epochs", "1", "--width", "4", "--train-limit", "300", "--test-limit", "60",
                        "--out", out, "--no-latency", "--quiet"], within: 300)
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "--force")
        #expect(FileManager.default.fileExists(atPath: regularized + "/collapsed.json"), "the refused demo touched the runs")
    }

    /// Two processes on one run folder: the second stops at once with one line naming the
    /// folder and the first one's pid; the first finishes untouched.
    @Test func aSecondProcessOnARunFolderIsRefused() throws {
        let dir = try scratch() + "/locked"
        let first = Process()
        first.executableURL = try executable()
        first.arguments = ["train", "--run-dir", dir, "--width", "4", "--epochs", "2", "--max-batches", "20", "--batch-size", "32",
                           "--train-limit", "1000", "--test-limit", "50", "--lambda", "1", "--projections", "4", "--quiet"]
        first.standardError = FileHandle.nullDevice
        try first.run()
        let lockFile = dir + "/.lock"
        let deadline = Date().addingTimeInterval(60)
        while (try? String(contentsOfFile: lockFile, encoding: .utf8))?.isEmpty ?? true, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        var r = try lacoot(["train", "--run-dir", dir, "--width", "4", "--epochs", "1", "--quiet"], within: 60)
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "in use by another lacoot process (pid \(first.processIdentifier))")
        r = try lacoot(["score", "--run-dir", dir, "--quiet"], within: 60)
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "in use by another lacoot process")
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        let config = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
        #expect(config.contains("\"epochs\" : 2"), "the refused process wrote config.json")
        r = try lacoot(["score", "--run-dir", dir, "--projections", "4", "--quiet"], within: 120)
        #expect(r.code == 0, "\(r.err)")
        // scores.json records how it was made: collapse reuses it only when it would measure the same
        r = try lacoot(["collapse", "--run-dir", dir, "--projections", "4", "--remove", "1", "--no-latency"], within: 120)
        #expect(r.code == 0 && r.err.contains("using the block distances"), "\(r.err)")
        r = try lacoot(["collapse", "--run-dir", dir, "--projections", "4", "--seed", "3", "--remove", "1", "--no-latency"], within: 120)
        #expect(r.code == 0 && r.err.contains("measuring again"), "\(r.err)")
        let scores = try String(contentsOfFile: dir + "/scores.json", encoding: .utf8)
        #expect(scores.contains("\"provenance\"") && scores.contains("\"projections\" : 4"), "\(scores)")
    }

    /// `demo --model vit --taps output mlp-branch`: three models (two taps and λ = 0) in their
    /// own folders; the report's shared budget names neither λ nor a tap (each arm's label does).
    @Test func transformerDemoWithBothTaps() throws {
        let out = try scratch() + "/demo-vit"
        let r = try lacoot(["demo", "--model", "vit", "--taps", "output", "mlp-branch", "--epochs", "1", "--train-limit", "150",
                            "--test-limit", "30", "--out", out, "--no-latency", "--quiet", "--json"], within: 300)
        #expect(r.code == 0, "\(r.err)")
        for arm in ["lambda-1", "lambda-1-mlp-branch", "lambda-0"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + arm + "/checkpoint.safetensors"), "\(arm)")
        }
        let report = try String(contentsOfFile: out + "/report.json", encoding: .utf8)
        #expect(report.contains("λ=1 mlp-branch tap, ranked") && report.contains("AdamW"), "\(report.prefix(400))")
        let budget = report.components(separatedBy: "\"budget\" : \"").dropFirst().first?.prefix { $0 != "\"" } ?? ""
        #expect(!budget.contains("tap") && !budget.contains("λ"), "budget: \(budget)")
        let config = try String(contentsOfFile: out + "/lambda-1-mlp-branch/config.json", encoding: .utf8)
        #expect(config.contains("\"tap\" : \"mlp-branch\""), "\(config)")
    }
}
