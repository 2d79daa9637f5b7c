import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Hostile input and faults, round two (docs/RELIABILITY.md): each ends in exit 2 (usage) or 1
/// (runtime) with one line naming the flag, file or folder — or works — never a trap or a hang.
@Suite(.serialized) struct HostileInputTests {
    /// The smallest useful training run (ResNet-18 width 4, one step).
    static let tiny = ["--width", "4", "--epochs", "1", "--max-batches", "1", "--batch-size", "8", "--quiet"]

    /// A tiny Fashion-MNIST run in `dir`.
    static func trainTiny(_ dir: String, _ extra: [String] = []) throws {
        let r = try lacoot(["train", "--run-dir", dir, "--train-limit", "64", "--test-limit", "16", "--projections", "4"]
                           + tiny + extra)
        #expect(r.code == 0, "\(r.err)")
    }

    /// One bad file among good ones: the good ones are still classified and printed, each bad
    /// one is named on one line, exit 1 — in the text and the JSON output.
    @Test func predictNamesBadFilesAndClassifiesTheRest() throws {
        let dir = try scratch() + "/pré dict"
        try Self.trainTiny(dir + "/run")
        let images = dir + "/images é"
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        try HostileFixtures.brownPNG.write(to: URL(fileURLWithPath: images + "/a good ü.png"))
        try HostileFixtures.smallJPEG.write(to: URL(fileURLWithPath: images + "/b good.jpg"))
        try Data().write(to: URL(fileURLWithPath: images + "/c empty.png"))
        try Data("this is not a picture\n".utf8).write(to: URL(fileURLWithPath: images + "/d text.jpg"))
        try HostileFixtures.bluePNG.write(to: URL(fileURLWithPath: images + "/e good.png"))
        var r = try lacoot(["predict", "--run-dir", dir + "/run", "--folder", images, images + "/missing.png", "--batch-size", "2",
                            "--quiet"])   // stderr: the errors alone, not the input line
        #expect(r.code == 1, "\(r.err)")
        let lines = r.out.split(separator: "\n")
        #expect(lines.count == 3 && ["a good ü.png", "b good.jpg", "e good.png"].allSatisfy { name in lines.contains { $0.contains(name + ": ") } },
                "\(r.out)")
        let errors = r.err.split(separator: "\n")
        #expect(errors.count == 3, "\(r.err)")
        #expect(errors.contains { $0.contains("c empty.png") && $0.contains("empty (0 bytes)") }, "\(r.err)")
        #expect(errors.contains { $0.contains("d text.jpg") && $0.contains("neither PNG nor JPEG") }, "\(r.err)")
        #expect(errors.contains { $0.contains("missing.png") }, "\(r.err)")
        expectOneLine(r.err, contains: "c empty.png")
        r = try lacoot(["predict", "--run-dir", dir + "/run", "--folder", images, "--json", "--quiet"])
        #expect(r.code == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out)")
        #expect((json["predictions"] as? [Any])?.count == 3 && (json["errors"] as? [Any])?.count == 2, "\(r.out)")
        // a 1×1 image and an absurd batch: fine (the batch is the files there are)
        r = try lacoot(["predict", "--run-dir", dir + "/run", images + "/a good ü.png", "--batch-size", "65536"])
        #expect(r.code == 0, "\(r.err)")
    }

    /// `predict --folder` over 1,500 images: the peak resident memory grows by far less than
    /// the 1,500 decoded inputs would take (3×96×96 floats: 165 MB) — one batch is held at a
    /// time. Also runs every command on paths with spaces and non-ASCII characters.
    @Test func predictMemoryIsBoundedByTheBatchAndPathsMayBeAnything() throws {
        let dir = try scratch() + "/runs ü/ça va"
        let data = dir + "/data dir é"
        try HostileFixtures.imageFolder(at: data)
        let run = dir + "/run ñ"
        var r = try lacoot(["train", "--run-dir", run, "--dataset", "folder", "--data-dir", data, "--image-size", "32",
                            "--val-fraction", "0.25", "--projections", "4"] + Self.tiny)
        #expect(r.code == 0, "\(r.err)")
        r = try lacoot(["evaluate", "--run-dir", run, "--repeats", "1", "--quiet"])
        #expect(r.code == 0 && r.out.contains("test accuracy"), "\(r.err)")
        r = try lacoot(["collapse", "--run-dir", run, "--remove", "1", "--no-latency", "--projections", "4", "--quiet"])
        #expect(r.code == 0 && FileManager.default.fileExists(atPath: run + "/collapsed.json"), "\(r.err)")
        // the same weights taking 96×96 inputs (the CIFAR-stem ResNet pools globally): the 64×64 images are padded
        let manifest = try String(contentsOfFile: run + "/collapsed.json", encoding: .utf8)
        let large = manifest.replacingOccurrences(of: #""input_shape" : \[\s*3,\s*32,\s*32\s*\]"#,
                                                  with: #""input_shape" : [3, 96, 96]"#, options: .regularExpression)
        #expect(large != manifest, "\(manifest)")
        try large.write(toFile: run + "/large.json", atomically: true, encoding: .utf8)
        let few = dir + "/few ï", many = dir + "/many ö"
        for (folder, count) in [(few, 30), (many, 1_500)] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try HostileFixtures.brownPNG.write(to: URL(fileURLWithPath: folder + "/0.png"))
            for i in 1..<count { try FileManager.default.linkItem(atPath: folder + "/0.png", toPath: folder + "/\(i) ß.png") }
        }
        let predict = ["predict", "--model", run + "/large.json", "--batch-size", "16", "--threads", "1", "--folder"]
        let small = try HostileFixtures.peakResidentKB(predict + [few])
        let big = try HostileFixtures.peakResidentKB(predict + [many])
        #expect(small.code == 0 && big.code == 0)
        #expect(big.kb - small.kb < 50_000, "peak RSS \(small.kb) KB for 30 images, \(big.kb) KB for 1,500")
    }

    /// A corrupt config.json, an edited one, and another run's checkpoint copied in: `evaluate`
    /// and `train --resume` both refuse in one line naming the file.
    @Test func tamperedRunFoldersAreRefused() throws {
        let dir = try scratch()
        let a = dir + "/a", b = dir + "/b"
        try Self.trainTiny(a, ["--lambda", "1"])
        try Self.trainTiny(b, ["--lambda", "0"])
        let config = b + "/config.json", checkpoint = b + "/checkpoint.safetensors"
        let original = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        try FileManager.default.removeItem(atPath: checkpoint)
        try FileManager.default.copyItem(atPath: a + "/checkpoint.safetensors", toPath: checkpoint)
        var r = try lacoot(["evaluate", "--run-dir", b, "--repeats", "1", "--quiet"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "training regularizer.lambda: 0 in config.json vs 1 in the checkpoint")
        #expect(r.err.contains(checkpoint) && r.err.split(separator: "\n").count == 1, "\(r.err)")
        r = try lacoot(["train", "--run-dir", b, "--resume", "--quiet"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: checkpoint)
        // the run's own checkpoint back, then an edited config.json
        try original.write(to: URL(fileURLWithPath: checkpoint))
        let text = try String(contentsOfFile: config, encoding: .utf8)
        try text.replacingOccurrences(of: "\"seed\" : 0", with: "\"seed\" : 7").write(toFile: config, atomically: true, encoding: .utf8)
        r = try lacoot(["evaluate", "--run-dir", b, "--repeats", "1", "--quiet"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: config)
        r = try lacoot(["train", "--run-dir", b, "--resume", "--quiet"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: checkpoint)
        // a corrupt config.json (cut in the middle)
        try Data(text.utf8.prefix(text.utf8.count / 2)).write(to: URL(fileURLWithPath: config))
        for command in [["evaluate", "--run-dir", b, "--repeats", "1"], ["train", "--run-dir", b, "--resume"]] {
            r = try lacoot(command + ["--quiet"])
            #expect(r.code == 1, "\(command): \(r.err)")
            expectOneLine(r.err, contains: config + " is not a valid run configuration")
            #expect(r.err.split(separator: "\n").count == 1, "\(r.err)")
        }
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        r = try lacoot(["evaluate", "--run-dir", b, "--repeats", "1", "--quiet"])
        #expect(r.code == 0, "restored: \(r.err)")
    }

    /// A read-only run folder (immutable: root too is stopped): `collapse` and `score` exit 1 at
    /// once naming it; nothing is written.
    @Test(.enabled(if: HostileFixtures.canMakeImmutable, "cannot make a folder immutable here (chattr +i needs root on ext4/xfs/btrfs)"))
    func readOnlyRunFolder() throws {
        let run = try scratch() + "/read only é"
        try Self.trainTiny(run)
        let before = try FileManager.default.contentsOfDirectory(atPath: run).sorted()
        #expect(HostileFixtures.makeImmutable(run))
        defer { _ = HostileFixtures.makeImmutable(run, false) }
        var r = try lacoot(["collapse", "--run-dir", run, "--remove", "1", "--no-latency"], within: 120)
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "cannot write \(run)/collapsed.safetensors: cannot create a temporary file in \(run)")
        #expect(r.err.split(separator: "\n").count == 1, "\(r.err)")
        r = try lacoot(["score", "--run-dir", run, "--quiet"], within: 120)
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "\(run)/scores.json")
        #expect(try FileManager.default.contentsOfDirectory(atPath: run).sorted() == before)
    }

    /// A model manifest whose `weights` leaves its folder (`../…`, an absolute path): refused,
    /// though the file it names exists and would load.
    @Test func manifestWeightsMustStayInTheirFolder() throws {
        let dir = try scratch()
        try Self.trainTiny(dir + "/run")
        var r = try lacoot(["collapse", "--run-dir", dir + "/run", "--remove", "1", "--no-latency", "--projections", "4", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        let image = dir + "/dot.png"
        try HostileFixtures.brownPNG.write(to: URL(fileURLWithPath: image))
        let manifest = try String(contentsOfFile: dir + "/run/collapsed.json", encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/elsewhere/deeper", withIntermediateDirectories: true)
        for weights in ["../../run/collapsed.safetensors", dir + "/run/collapsed.safetensors"] {
            let edited = manifest.replacingOccurrences(of: "\"weights\" : \"collapsed.safetensors\"", with: "\"weights\" : \"\(weights)\"")
            #expect(edited != manifest)
            let path = dir + "/elsewhere/deeper/model.json"
            try edited.write(toFile: path, atomically: true, encoding: .utf8)
            r = try lacoot(["predict", "--model", path, image, "--quiet"])
            #expect(r.code == 1, "\(weights): \(r.out)")
            expectOneLine(r.err, contains: "\(path) is not a valid lacoot model manifest: \"weights\": \"\(weights)\" is not a file in the manifest's folder")
        }
        r = try lacoot(["predict", "--model", dir + "/run/collapsed.json", image, "--quiet"])
        #expect(r.code == 0, "\(r.err)")
    }

    /// `--batch-size 1000000`: a usage error; a batch larger than a small training split: one
    /// line saying so, at once — never an allocation the size of the batch.
    @Test func absurdBatchSizes() throws {
        let dir = try scratch()
        var r = try lacoot(["train", "--run-dir", dir + "/a", "--batch-size", "1000000", "--quiet"], within: 60)
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--batch-size must be in 1...65536, got 1000000")
        r = try lacoot(["compress", "--run-dir", dir + "/b", "--batch-size", "1000000", "--quiet"], within: 60)
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--batch-size")
        r = try lacoot(["train", "--run-dir", dir + "/c", "--batch-size", "60000", "--train-limit", "200", "--width", "4", "--quiet"], within: 120)
        #expect(r.code == 1 && !r.timedOut)
        expectOneLine(r.err, contains: "--batch-size 60000 is larger than the training split")
    }

    /// Two `compress` on one folder: the second refused at once; SIGTERM to the first mid-training:
    /// exit 1 with a checkpoint and no collapsed model; `compress --resume` then completes.
    @Test func compressStoppedBySIGTERMResumesAndASecondIsRefused() throws {
        let dir = try scratch() + "/compress é"
        let after = ["--bn-images", "64", "--max-drop", "100", "--no-latency", "--quiet"]
        let args = ["compress", "--run-dir", dir, "--width", "4", "--epochs", "3", "--batch-size", "32", "--train-limit", "480",
                    "--test-limit", "64", "--projections", "4"] + after
        let (first, errors) = try start(args)
        var deadline = Date().addingTimeInterval(120)
        while (try? String(contentsOfFile: dir + "/.lock", encoding: .utf8))?.isEmpty ?? true, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let r = try lacoot(args, within: 60)
        #expect(r.code == 1 && !r.timedOut)
        expectOneLine(r.err, contains: "in use by another lacoot process (pid \(first.processIdentifier))")
        deadline = Date().addingTimeInterval(300)
        while !FileManager.default.fileExists(atPath: dir + "/checkpoint.safetensors"), first.isRunning, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(first.processIdentifier, SIGTERM)
        let stderr = text(of: errors)
        first.waitUntilExit()
        #expect(first.terminationReason == .exit && first.terminationStatus == 1, "\(stderr)")
        #expect(stderr.contains("interrupted at epoch") && stderr.contains("--resume"), "\(stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/collapsed.json"))
        let resumed = try lacoot(["compress", "--run-dir", dir, "--resume"] + after, within: 600)
        #expect(resumed.code == 0, "\(resumed.err)")
        #expect(FileManager.default.fileExists(atPath: dir + "/collapsed.json"))
        let metrics = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8)
        #expect(metrics.split(separator: "\n").count == 3, "\(metrics)")
    }
}
