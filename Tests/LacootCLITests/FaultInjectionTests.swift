import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The tensors of a safetensors file — header entries without `__metadata__` (which holds
/// timings) and the data bytes — for comparing two checkpoints bit for bit.
func checkpointTensors(_ path: String) throws -> (header: NSDictionary, data: Data) {
    var (header, data) = try safetensorsParts(path)
    header["__metadata__"] = nil
    return (NSDictionary(dictionary: header), data)
}

/// SIGKILL at random moments of a training run, then `--resume`, again and again: the final
/// checkpoint — weights, optimizer state, generators — is bit-identical to an uninterrupted
/// run's, and no temporary file is left. 3 kills here; `LACOOT_FAULT_KILLS=20 swift test
/// --filter FaultInjection` (or `scripts/fault-injection 20`) is the long form.
@Suite(.serialized) struct FaultInjectionTests {
    @Test func killedAndResumedRunsEndBitIdentical() throws {
        let kills = Int(ProcessInfo.processInfo.environment["LACOOT_FAULT_KILLS"] ?? "") ?? 3
        let root = try scratch()
        let flags = ["--width", "4", "--epochs", "3", "--max-batches", "6", "--batch-size", "32", "--train-limit", "1000",
                     "--test-limit", "64", "--lambda", "1", "--projections", "8", "--quiet"]
        let reference = root + "/straight"
        var r = try lacoot(["train", "--run-dir", reference] + flags)
        try #require(r.code == 0, "\(r.err)")

        let run = root + "/killed"
        var generator = SystemRandomNumberGenerator()
        var killed = 0, attempts = 0
        while attempts < kills * 6 {
            attempts += 1
            let resume = FileManager.default.fileExists(atPath: run + "/checkpoint.safetensors")
            let process = Process()
            process.executableURL = try executable()
            process.arguments = ["train", "--run-dir", run] + (resume ? ["--resume", "--quiet"] : flags)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            if killed < kills {
                // somewhere in start-up, an epoch or a checkpoint write
                Thread.sleep(forTimeInterval: Double.random(in: 0.2...1.6, using: &generator))
                if process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                    killed += 1
                }
                process.waitUntilExit()
                if process.terminationReason == .exit { #expect(process.terminationStatus == 0) }
                if process.terminationReason == .exit && process.terminationStatus == 0 && killed < kills {
                    // finished before the kill: start over so that every kill lands in a run
                    try FileManager.default.removeItem(atPath: run)
                }
                continue
            }
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            break
        }
        #expect(killed == kills, "only \(killed) of \(kills) kills landed")
        let a = try checkpointTensors(reference + "/checkpoint.safetensors")
        let b = try checkpointTensors(run + "/checkpoint.safetensors")
        #expect(a.header.isEqual(b.header))
        #expect(a.data == b.data, "the resumed run's state differs from the uninterrupted run's")
        r = try lacoot(["score", "--run-dir", run, "--quiet"])   // takes the lock: stale temporaries are swept
        #expect(r.code == 0, "\(r.err)")
        let left = try FileManager.default.contentsOfDirectory(atPath: run).filter { $0.contains(".tmp-") }
        #expect(left.isEmpty, "stray files: \(left)")
    }
}

/// A write that fails half-way (disk full, file-size limit): one line naming the file, exit 1,
/// the previous checkpoint intact and no temporary file left.
@Suite(.serialized) struct FailedWriteTests {
    @Test func aFailedCheckpointWriteKeepsThePreviousOne() throws {
        let run = try scratch() + "/full"
        var r = try lacoot(["train", "--run-dir", run, "--width", "4", "--epochs", "1", "--max-batches", "3", "--batch-size", "32",
                            "--train-limit", "500", "--test-limit", "32", "--lambda", "1", "--projections", "4", "--schedule", "constant", "--quiet"])
        try #require(r.code == 0, "\(r.err)")
        let checkpoint = run + "/checkpoint.safetensors"
        let before = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        // one more epoch, in config.json and in the checkpoint's copy of it
        let configURL = URL(fileURLWithPath: run + "/config.json")
        let config = try String(contentsOf: configURL, encoding: .utf8)
        try config.replacingOccurrences(of: "\"epochs\" : 1,", with: "\"epochs\" : 2,").write(to: configURL, atomically: true, encoding: .utf8)
        try editMetadata(of: checkpoint) { meta in
            meta["configuration"] = meta["configuration"]!.replacingOccurrences(of: "\"epochs\" : 1,", with: "\"epochs\" : 2,")
        }
        let edited = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        // the new checkpoint cannot be written: files are limited to 64 KiB (EFBIG, as a full disk gives ENOSPC)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "trap '' XFSZ; ulimit -f 64; exec \"$0\" train --run-dir \"$1\" --resume --quiet", try executable().path, run]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(message)")
        expectOneLine(message, contains: "checkpoint.safetensors")
        expectOneLine(message, contains: "File too large")
        #expect(message.split(separator: "\n").count == 1, "\(message)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: checkpoint)) == edited)   // untouched
        #expect(edited != before)
        let left = try FileManager.default.contentsOfDirectory(atPath: run).filter { $0.contains(".tmp-") }
        #expect(left.isEmpty, "stray files: \(left)")
        // without the limit the same resume completes
        r = try lacoot(["train", "--run-dir", run, "--resume", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
    }
}
