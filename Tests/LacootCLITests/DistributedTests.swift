import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The float32 tensors of a checkpoint's model (`model.*` keys), by name.
func modelWeights(_ path: String) throws -> [String: [Float]] {
    let (header, data) = try safetensorsParts(path)
    var out: [String: [Float]] = [:]
    for (key, value) in header where key.hasPrefix("model.") {
        guard let entry = value as? [String: Any], entry["dtype"] as? String == "F32",
              let offsets = entry["data_offsets"] as? [Int] else { continue }
        let bytes = data.subdata(in: (data.startIndex + offsets[0])..<(data.startIndex + offsets[1]))
        out[key] = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
    return out
}

/// The largest absolute difference between two checkpoints' model weights (same keys required).
func largestDifference(_ a: String, _ b: String) throws -> Float {
    let (x, y) = (try modelWeights(a), try modelWeights(b))
    #expect(Set(x.keys) == Set(y.keys) && !x.isEmpty)
    return x.map { key, values in zip(values, y[key] ?? []).map { abs($0 - $1) }.max() ?? 0 }.max() ?? .infinity
}

/// The `key` column of a run's metrics.jsonl.
func metricColumn(_ runDir: String, _ key: String) throws -> [Double] {
    try String(contentsOfFile: runDir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
        let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        return (object[key] as? Double) ?? .nan
    }
}

/// Data-parallel training through `lacoot train --nproc 2` (two ranks on loopback, Gloo),
/// compared with one process on the same global batch.
@Suite(.serialized) struct DistributedTests {
    /// Data-parallel flags are checked before anything starts: exit 2, the error line naming the flag.
    @Test func badDataParallelFlagsAreUsageErrors() throws {
        let root = try scratch()
        let cases: [([String], String)] = [
            (["--sync-bn"], "--sync-bn applies to data-parallel runs"),
            (["--global-distance"], "--global-distance applies to data-parallel runs"),
            (["--rank", "2", "--world-size", "2", "--master", "127.0.0.1:29500"], "--rank must be in 0...1 for --world-size 2, got 2"),
            (["--rank", "0", "--world-size", "2", "--master", "nohost"], "--master must be HOST:PORT"),
            (["--rank", "0", "--world-size", "2"], "--rank needs --world-size and --master"),
            (["--world-size", "2", "--master", "127.0.0.1:29500"], "--world-size and --master need --rank"),
            (["--nproc", "2", "--rank", "0", "--world-size", "2", "--master", "127.0.0.1:29500"], "--nproc starts its own ranks"),
            (["--nproc", "0"], "--nproc must be in 1...256, got 0"),
            (["--nproc", "2", "--batch-size", "63"], "--batch-size 63 (the global batch) must be a multiple of the 2 ranks"),
            (["--nproc", "2", "--timeout", "0"], "--timeout must be a number in [1.0, 86400.0], got 0.0"),
        ]
        for (flags, message) in cases {
            let r = try lacoot(["train", "--run-dir", root + "/run", "--width", "4", "--train-limit", "256", "--epochs", "1"] + flags)
            #expect(r.code == 2, "\(flags): \(r.err)")
            expectOneLine(r.err, contains: "Error: " + message)   // argument-parser's line, then its usage lines
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/run"))
    }

    /// Without BatchNorm (a small ViT), SGD, λ = 1 with the distance on the global batch: after
    /// one step per epoch the two ranks hold the single process's weights (≤ 1e-5; measured
    /// ≈ 1e-7), rank 0 alone writes, and the checkpoint refuses a resume with another number of
    /// ranks. Two steps, not two whole epochs: the two sides run other thread counts and an
    /// all-reduce, which round differently, and SGD would amplify that over a trajectory
    /// (differently on each CPU).
    @Test func twoRanksMatchOneProcessWithoutBatchNorm() throws {
        let root = try scratch()
        let flags = ["--model", "vit", "--width", "32", "--depth", "2", "--heads", "2", "--train-limit", "256",
                     "--test-limit", "64", "--epochs", "2", "--max-batches", "1", "--batch-size", "32", "--optimizer", "sgd",
                     "--lr", "0.05", "--lambda", "1", "--quiet"]
        var r = try lacoot(["train", "--run-dir", root + "/one", "--threads", "1"] + flags)
        try #require(r.code == 0, "\(r.err)")
        r = try lacoot(["train", "--run-dir", root + "/two", "--nproc", "2", "--global-distance"] + flags)
        try #require(r.code == 0, "\(r.err)")
        let worst = try largestDifference(root + "/one/checkpoint.safetensors", root + "/two/checkpoint.safetensors")
        #expect(worst <= 1e-5, "weights differ by \(worst)")
        for (a, b) in zip(try metricColumn(root + "/one", "train_loss"), try metricColumn(root + "/two", "train_loss")) {
            #expect(abs(a - b) <= 1e-4, "train loss \(a) vs \(b)")
        }
        #expect(try metricColumn(root + "/two", "train_loss").count == 2)
        let metadata = try safetensorsParts(root + "/two/checkpoint.safetensors").header["__metadata__"] as? [String: Any]
        #expect(metadata?["world_size"] as? String == "2")
        let files = try FileManager.default.contentsOfDirectory(atPath: root + "/two").sorted()
        #expect(!files.contains { $0.hasSuffix(".tmp") || $0.hasPrefix(".") && $0 != ".lock" }, "\(files)")
        // a 2-rank checkpoint resumed by one process: refused, naming the count
        r = try lacoot(["train", "--run-dir", root + "/two", "--resume", "--epochs", "3", "--quiet"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "was written by a run of 2 rank(s); resume it with the same number (--nproc 2)")
    }

    /// With BatchNorm, per-rank statistics and the local distance (the defaults), the loss curve
    /// follows the single process's within 0.2 per epoch (this small ResNet's curve moves by
    /// ≈ 0.05 from a change of thread count alone); with --sync-bn one step lands on the single
    /// process's weights (≤ 1e-4) where per-rank statistics do not (> 1e-3).
    @Test func batchNormRanksFollowTheSingleProcess() throws {
        let root = try scratch()
        let curve = ["--width", "8", "--train-limit", "512", "--test-limit", "64", "--epochs", "2", "--batch-size", "64",
                     "--lambda", "1", "--lr", "0.05", "--quiet"]
        var r = try lacoot(["train", "--run-dir", root + "/one", "--threads", "1"] + curve)
        try #require(r.code == 0, "\(r.err)")
        r = try lacoot(["train", "--run-dir", root + "/two", "--nproc", "2"] + curve)
        try #require(r.code == 0, "\(r.err)")
        let (one, two) = (try metricColumn(root + "/one", "train_loss"), try metricColumn(root + "/two", "train_loss"))
        #expect(one.count == 2 && two.count == 2)
        for (a, b) in zip(one, two) { #expect(abs(a - b) <= 0.2, "train loss \(a) (1 process) vs \(b) (2 ranks)") }

        let step = ["--width", "8", "--train-limit", "72", "--val-fraction", "0.1", "--test-limit", "64", "--epochs", "1",
                    "--batch-size", "64", "--lr", "0.01", "--momentum", "0", "--lambda", "0", "--no-augment", "--quiet"]
        for (name, extra) in [("single", ["--threads", "1"]), ("sync", ["--nproc", "2", "--sync-bn"]), ("local", ["--nproc", "2"])] {
            r = try lacoot(["train", "--run-dir", root + "/" + name] + step + extra)
            try #require(r.code == 0, "\(name): \(r.err)")
        }
        let synced = try largestDifference(root + "/single/checkpoint.safetensors", root + "/sync/checkpoint.safetensors")
        let local = try largestDifference(root + "/single/checkpoint.safetensors", root + "/local/checkpoint.safetensors")
        #expect(synced <= 1e-4, "--sync-bn: weights differ by \(synced)")
        #expect(local > 1e-3, "per-rank BatchNorm should differ from the global batch's: \(local)")
    }

    /// A rank killed mid-run: the launcher names it, stops the other and exits non-zero within
    /// 60 s; the last checkpoint stays good and `--resume --nproc 2` finishes the run.
    @Test func aKilledRankStopsTheRunAndTheCheckpointResumes() throws {
        let root = try scratch()
        let run = root + "/run"
        let flags = ["--width", "8", "--train-limit", "1024", "--test-limit", "64", "--epochs", "4", "--batch-size", "64",
                     "--lambda", "1", "--quiet"]
        let (launcher, errors) = try start(["train", "--run-dir", run, "--nproc", "2"] + flags)
        waitFor(run + "/checkpoint.safetensors")   // then kill rank 1
        let children = try childProcesses(of: launcher.processIdentifier)
        try #require(children.count == 2, "ranks: \(children)")
        let rank1 = try #require(children.first { child in
            child.arguments.firstIndex(of: "--rank").map { child.arguments.indices.contains($0 + 1) && child.arguments[$0 + 1] == "1" } ?? false
        })
        let killedAt = Date()
        kill(rank1.pid, SIGKILL)
        launcher.waitUntilExit()
        let waited = Date().timeIntervalSince(killedAt)
        let text = text(of: errors)
        #expect(launcher.terminationStatus != 0)
        #expect(waited < 60, "the run took \(waited) s to stop")
        #expect(text.contains("rank 1 of 2 was killed by signal 9"), "stderr: \(text)")
        #expect(!text.contains("Fatal error") && !text.contains("terminate called") && !text.contains("frame #"), "stderr: \(text)")
        #expect(try childProcesses(of: launcher.processIdentifier).isEmpty)
        let r = try lacoot(["train", "--run-dir", run, "--resume", "--nproc", "2", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        #expect(try metricColumn(run, "train_loss").count == 4)
    }

    /// Ctrl-C at the launcher reaches both ranks, which stop at the same step; rank 0 writes the
    /// checkpoint, and `--resume --nproc 2` ends bit-identical to an uninterrupted 2-rank run.
    @Test func ctrlCStopsEveryRankAndTheRunResumesBitIdentically() throws {
        let root = try scratch()
        let flags = ["--width", "8", "--train-limit", "2048", "--test-limit", "64", "--epochs", "3", "--batch-size", "64",
                     "--lambda", "1", "--quiet"]
        var r = try lacoot(["train", "--run-dir", root + "/straight", "--nproc", "2"] + flags)
        try #require(r.code == 0, "\(r.err)")
        let run = root + "/interrupted"
        let (launcher, errors) = try start(["train", "--run-dir", run, "--nproc", "2"] + flags)
        waitFor(run + "/metrics.jsonl")   // written after epoch 1: interrupt in epoch 2
        Thread.sleep(forTimeInterval: 0.3)
        kill(launcher.processIdentifier, SIGINT)
        launcher.waitUntilExit()
        let text = text(of: errors)
        #expect(launcher.terminationStatus == 1)
        #expect(text.contains("interrupted at epoch 2") && text.contains("continue with --resume"), "stderr: \(text)")
        #expect(!text.contains("stopping the other ranks") && !text.contains("was lost"), "stderr: \(text)")
        #expect(text.split(separator: "\n").count == 2, "stderr: \(text)")   // the launcher's start line and rank 0's
        r = try lacoot(["train", "--run-dir", run, "--resume", "--nproc", "2", "--quiet"])
        try #require(r.code == 0, "\(r.err)")
        let (a, b) = (try checkpointTensors(root + "/straight/checkpoint.safetensors"), try checkpointTensors(run + "/checkpoint.safetensors"))
        #expect(a.header == b.header && a.data == b.data, "the resumed 2-rank run differs from the uninterrupted one")
    }

    /// Hosts that resume from different checkpoints (rank 1's folder holds a stale copy) stop
    /// together before training, each saying what it found, instead of drifting out of step.
    @Test func ranksResumingFromDifferentCheckpointsRefuse() throws {
        let root = try scratch()
        let (fresh, stale) = (root + "/rank0", root + "/rank1")
        let flags = ["--width", "8", "--train-limit", "2048", "--test-limit", "64", "--epochs", "3", "--batch-size", "64",
                     "--lambda", "1", "--quiet"]
        let (launcher, _) = try start(["train", "--run-dir", fresh, "--nproc", "2"] + flags)
        waitFor(fresh + "/checkpoint.safetensors")
        try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
        for file in ["config.json", "metrics.jsonl", "checkpoint.safetensors"] {
            try FileManager.default.copyItem(atPath: fresh + "/" + file, toPath: stale + "/" + file)
        }
        Thread.sleep(forTimeInterval: 0.3)
        kill(launcher.processIdentifier, SIGINT)   // rank 0's folder moves on into epoch 2
        launcher.waitUntilExit()
        let port = 20_000 + Int.random(in: 0..<20_000)
        let ranks = try [fresh, stale].enumerated().map { rank, folder in
            try start(["train", "--run-dir", folder, "--resume", "--world-size", "2", "--rank", "\(rank)",
                       "--master", "127.0.0.1:\(port)", "--device-host", "127.0.0.1", "--threads", "1", "--quiet"])
        }
        for (process, pipe) in ranks {
            process.waitUntilExit()
            let text = text(of: pipe)
            #expect(process.terminationStatus == 1, "stderr: \(text)")
            #expect(text.contains("every rank needs rank 0's checkpoint"), "stderr: \(text)")
            #expect(text.split(separator: "\n").count == 1, "stderr: \(text)")
        }
    }

    /// Ranks started by hand (as on separate hosts): one that dies, or hangs (SIGSTOP), makes
    /// the other exit 1 within 60 s with one line naming it.
    @Test(arguments: [SIGKILL, SIGSTOP])
    func aLostRankIsNamedByTheOthers(signal: Int32) throws {
        let root = try scratch()
        let port = 20_000 + Int.random(in: 0..<20_000)
        let flags = ["--run-dir", root + "/run", "--width", "8", "--train-limit", "2048", "--test-limit", "64", "--epochs", "6",
                     "--batch-size", "64", "--world-size", "2", "--master", "127.0.0.1:\(port)", "--device-host", "127.0.0.1",
                     "--heartbeat-timeout", "5", "--threads", "1", "--quiet"]
        let ranks = try (0..<2).map { rank in try start(["train", "--rank", "\(rank)"] + flags) }
        defer { for (process, _) in ranks where process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        waitFor(root + "/run/checkpoint.safetensors")
        let lostAt = Date()
        kill(ranks[1].0.processIdentifier, signal)
        ranks[0].0.waitUntilExit()
        let waited = Date().timeIntervalSince(lostAt)
        let text = text(of: ranks[0].1)
        #expect(ranks[0].0.terminationStatus == 1)
        #expect(waited < 60, "rank 0 took \(waited) s to stop")
        #expect(text.contains("rank 1 of 2 was lost"), "stderr: \(text)")
        #expect(text.split(separator: "\n").count == 1, "stderr: \(text)")
        kill(ranks[1].0.processIdentifier, SIGKILL)
    }

    /// Two "hosts": network namespaces joined by a veth pair, made by the test itself (reported
    /// skipped where they cannot be created — not root, no iproute2). The ranks meet at rank 0's
    /// address and end on the same weights as the run on loopback.
    @Test(.enabled(if: namespacesCanBeCreated(), "network namespaces cannot be created here (needs root and iproute2's ip)"))
    func twoHostsInNetworkNamespaces() throws {
        let suffix = String(UUID().uuidString.prefix(6)).lowercased()
        let (a, b) = ("lacoot-a-\(suffix)", "lacoot-b-\(suffix)")
        let setup = [["netns", "add", a], ["netns", "add", b],
                     ["link", "add", "va\(suffix)", "type", "veth", "peer", "name", "vb\(suffix)"],
                     ["link", "set", "va\(suffix)", "netns", a], ["link", "set", "vb\(suffix)", "netns", b],
                     ["-n", a, "addr", "add", "10.231.0.1/24", "dev", "va\(suffix)"], ["-n", b, "addr", "add", "10.231.0.2/24", "dev", "vb\(suffix)"],
                     ["-n", a, "link", "set", "va\(suffix)", "up"], ["-n", b, "link", "set", "vb\(suffix)", "up"],
                     ["-n", a, "link", "set", "lo", "up"], ["-n", b, "link", "set", "lo", "up"]]
        defer { _ = try? ip(["netns", "del", a]); _ = try? ip(["netns", "del", b]) }
        for command in setup {
            let (code, err) = try ip(command)
            try #require(code == 0, "ip \(command.joined(separator: " ")): \(err)")
        }
        let root = try scratch()
        let flags = ["--model", "vit", "--width", "32", "--depth", "2", "--heads", "2", "--train-limit", "256", "--test-limit", "64",
                     "--epochs", "1", "--batch-size", "32", "--optimizer", "sgd", "--lr", "0.05", "--lambda", "1", "--quiet"]
        var hosts: [Process] = []
        for (rank, (namespace, address)) in [(a, "10.231.0.1"), (b, "10.231.0.2")].enumerated() {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace, try executable().path, "train", "--run-dir", root + "/hosts",
                                 "--world-size", "2", "--rank", "\(rank)", "--master", "10.231.0.1:29500",
                                 "--device-host", address, "--threads", "1", "--timeout", "60"] + flags
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            hosts.append(process)
        }
        for process in hosts { process.waitUntilExit() }
        #expect(hosts.map(\.terminationStatus) == [0, 0])
        // one thread per rank on both sides: the same computation, whatever the machine's cores
        let r = try lacoot(["train", "--run-dir", root + "/loopback", "--nproc", "2", "--threads", "1"] + flags)
        try #require(r.code == 0, "\(r.err)")
        let worst = try largestDifference(root + "/hosts/checkpoint.safetensors", root + "/loopback/checkpoint.safetensors")
        #expect(worst <= 1e-6, "weights differ by \(worst)")
    }
}

/// Whether this process may create network namespaces (tries one and removes it).
private func namespacesCanBeCreated() -> Bool {
    let probe = "lacoot-probe-\(getpid())"
    guard (try? ip(["netns", "add", probe]))?.0 == 0 else { return false }
    _ = try? ip(["netns", "del", probe])
    return true
}

/// Runs `ip` with `arguments`; its exit status and stderr.
private func ip(_ arguments: [String]) throws -> (Int32, String) {
    guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else { return (127, "/usr/sbin/ip not found") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardError = pipe
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
}

/// The live children of `pid` with their command lines (from /proc).
private func childProcesses(of pid: pid_t) throws -> [(pid: pid_t, arguments: [String])] {
    try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { entry -> (pid_t, [String])? in
        guard let child = pid_t(entry),
              let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 1, fields[0] != "Z", pid_t(fields[1]) == pid else { return nil }
        let raw = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(entry)/cmdline"))) ?? Data()
        return (child, raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
    }
}

/// Waits (up to 5 minutes) until `path` exists.
private func waitFor(_ path: String, poll: Double = 0.05) {
    let started = Date()
    while !FileManager.default.fileExists(atPath: path), Date().timeIntervalSince(started) < 300 {
        Thread.sleep(forTimeInterval: poll)
    }
}
