import Foundation
import Testing
import TestSupport

/// Runs the built `lacoot` executable and returns its exit code, stdout and stderr (killed
/// after 10 minutes, so a hang fails instead of stalling the suite).
func lacoot(_ arguments: [String]) throws -> (code: Int32, out: String, err: String) {
    let r = try lacoot(arguments, within: 600)
    return (r.code, r.out, r.err)
}

/// `.build/<config>/lacoot`, next to the test bundle.
func executable() throws -> URL { try lacootExecutable() }

/// The repository root (this file is Tests/LacootCLITests/CLITests.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `lacoot ARGUMENTS` started in the background, its stderr in the returned pipe.
func start(_ arguments: [String]) throws -> (process: Process, errors: Pipe) {
    let process = Process()
    process.executableURL = try executable()
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    return (process, errors)
}

/// Everything `pipe` received.
func text(of pipe: Pipe) -> String {
    String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
}

func scratch() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

/// One error line on stderr (no stack trace, no C++ noise).
func expectOneLine(_ err: String, contains text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(err.contains(text), "stderr: \(err)", sourceLocation: sourceLocation)
    #expect(!err.contains("Fatal error") && !err.contains("terminate called"), "stderr: \(err)", sourceLocation: sourceLocation)
}

@Suite(.serialized) struct CLITests {
    @Test func helpHasExamples() throws {
        for command in ["train", "compress", "score", "collapse", "evaluate", "demo", "export", "info"] {
            let r = try lacoot([command, "--help"])
            #expect(r.code == 0, "\(command): \(r.err)")
            #expect(r.out.contains("Example"), "\(command) --help has no example")
        }
    }

    @Test func usageErrorsExitWith2() throws {
        let dir = try scratch()
        var r = try lacoot(["train", "--run-dir", dir + "/a", "--model", "resnet99"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "resnet99")
        r = try lacoot(["train", "--run-dir", dir + "/a", "--lambda", "-1"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--lambda")
        r = try lacoot(["train", "--run-dir", dir + "/a", "--dataset", "imagenet21k"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "imagenet21k")
        r = try lacoot(["collapse", "--run-dir", dir + "/a"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--remove")
    }

    @Test func runtimeErrorsExitWith1AndNameTheFile() throws {
        let dir = try scratch()
        var r = try lacoot(["score", "--run-dir", dir + "/none"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "config.json")
        r = try lacoot(["train", "--run-dir", dir + "/b", "--dataset", "cifar10", "--data-dir", dir + "/empty", "--quiet"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: dir + "/empty")
        #expect(r.err.split(separator: "\n").count == 1, "more than one line: \(r.err)")
    }

    /// A real (tiny) run: train, score, collapse with too many blocks (usage), collapse, evaluate,
    /// then a checkpoint that no longer matches its configuration.
    @Test func trainScoreCollapseEvaluate() throws {
        let dir = try scratch() + "/run"
        var r = try lacoot(["train", "--run-dir", dir, "--width", "4", "--epochs", "1", "--max-batches", "3",
                            "--batch-size", "32", "--train-limit", "400", "--test-limit", "100", "--lambda", "1",
                            "--projections", "8", "--quiet", "--json"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("\"run_dir\""))
        for file in ["config.json", "metrics.jsonl", "checkpoint.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "\(file) missing")
        }
        r = try lacoot(["train", "--run-dir", dir, "--quiet"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--resume")
        r = try lacoot(["score", "--run-dir", dir, "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("layer4.1"))
        r = try lacoot(["collapse", "--run-dir", dir, "--remove", "9", "--quiet"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "only 4 collapsible blocks")
        r = try lacoot(["collapse", "--run-dir", dir, "--remove", "2", "--no-latency", "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        #expect(FileManager.default.fileExists(atPath: dir + "/collapsed.json"))
        #expect(FileManager.default.fileExists(atPath: dir + "/report.html"))
        r = try lacoot(["evaluate", "--run-dir", dir, "--model", dir + "/collapsed.json", "--repeats", "1", "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("\"accuracy\""))
        // predict: a 1×1 grayscale PNG, padded to the model's 32×32, with the collapsed model and the run
        let png = dir + "/dot.png"
        try Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVQI12NgAAAAAgAB4iG8MwAAAABJRU5ErkJggg==")!
            .write(to: URL(fileURLWithPath: png))
        r = try lacoot(["predict", "--model", dir + "/collapsed.json", png, png, "--top", "3", "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.hasPrefix("{\"predictions\":[{\"file\":") && r.out.components(separatedBy: "\"probability\"").count == 7, "\(r.out)")
        r = try lacoot(["predict", "--run-dir", dir, png, "--top", "2"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("dot.png: ") && r.out.contains(" %"), "\(r.out)")
        r = try lacoot(["predict", "--run-dir", dir, dir + "/none.png", "--quiet"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "none.png")
        // a checkpoint that does not match its run's configuration
        let configURL = URL(fileURLWithPath: dir + "/config.json")
        let text = try String(contentsOf: configURL, encoding: .utf8)
        try text.replacingOccurrences(of: "\"width\" : 4", with: "\"width\" : 8").write(to: configURL, atomically: true, encoding: .utf8)
        r = try lacoot(["score", "--run-dir", dir, "--quiet"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "no longer describes the run")
        expectOneLine(r.err, contains: "width: 8 vs 4")
        // a change the weights' shapes cannot reveal: the data
        try text.replacingOccurrences(of: "\"validationFraction\" : 0.1", with: "\"validationFraction\" : 0.2")
            .write(to: configURL, atomically: true, encoding: .utf8)
        r = try lacoot(["collapse", "--run-dir", dir, "--remove", "1", "--quiet"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "data validationFraction: 0.2 in config.json vs 0.1 in the checkpoint")
    }

    /// `info` takes the shared runtime options: --threads, --json, --verbose/--quiet.
    @Test func infoTakesTheRuntimeOptions() throws {
        var r = try lacoot(["info", "--json", "--threads", "1", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("\"threads\":1"), "\(r.out)")
        r = try lacoot(["info", "--threads", "1", "--verbose"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.err.contains("lacoot.engine"), "\(r.err)")
        r = try lacoot(["info", "--threads", "0"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--threads")
    }

    /// `--verbose` shows the libraries' logs (data read, checkpoints written, engine) on stderr;
    /// the default level hides them; `--quiet --verbose` is a usage error.
    @Test func verboseShowsTheLibrariesLogs() throws {
        let dir = try scratch() + "/verbose"
        let args = ["train", "--run-dir", dir, "--width", "4", "--epochs", "1", "--max-batches", "2", "--batch-size", "32",
                    "--train-limit", "100", "--test-limit", "20", "--lambda", "1", "--projections", "8", "--json"]
        var r = try lacoot(args + ["--verbose"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.err.contains("lacoot.datasets") && r.err.contains("loaded"), "\(r.err)")
        #expect(r.err.contains("checkpoint written"), "\(r.err)")
        #expect(r.err.contains("lacoot.engine"), "\(r.err)")
        #expect(!r.out.contains("lacoot."), "logs leaked onto stdout: \(r.out)")
        r = try lacoot(["score", "--run-dir", dir, "--json"])
        #expect(r.code == 0, "\(r.err)")
        #expect(!r.err.contains("lacoot.datasets"), "\(r.err)")
        r = try lacoot(["score", "--run-dir", dir, "--quiet", "--verbose"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--verbose")
    }

    /// `--model vit` with its size flags trains, and `score` lists the encoder layers as blocks;
    /// the ViT flags are usage errors with another model.
    @Test func vitTrainsAndScores() throws {
        let dir = try scratch() + "/vit"
        var r = try lacoot(["train", "--run-dir", dir, "--model", "vit", "--patch-size", "8", "--depth", "2", "--width", "16",
                            "--heads", "2", "--mlp-dim", "32", "--epochs", "1", "--max-batches", "2", "--batch-size", "16",
                            "--train-limit", "100", "--test-limit", "20", "--lambda", "1", "--projections", "4",
                            "--quiet", "--json"])
        #expect(r.code == 0, "\(r.err)")
        let config = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
        #expect(config.contains("visionTransformer") && config.contains("\"patchSize\" : 8"), "\(config)")
        r = try lacoot(["score", "--run-dir", dir, "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("encoder.layers.encoder_layer_1"), "\(r.out)")
        r = try lacoot(["train", "--run-dir", dir + "2", "--model", "resnet18", "--depth", "3"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--depth")
        r = try lacoot(["train", "--run-dir", dir + "2", "--model", "vit_b_16", "--heads", "4"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--heads")
        r = try lacoot(["train", "--run-dir", dir + "2", "--model", "swin_t", "--width", "8"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--width")
    }

    /// torchvision's swin_t through train (the reference's recipe, so the MLP-branch tap),
    /// score (the run's tap by default), collapse and evaluate; the recipe lands in config.json;
    /// the tap is refused for a CNN.
    @Test func swinTThroughTheWholeFlow() throws {
        let dir = try scratch() + "/swin"
        var r = try lacoot(["train", "--run-dir", dir, "--model", "swin_t", "--recipe", "swin-reference", "--epochs", "2",
                            "--max-batches", "1", "--batch-size", "8", "--train-limit", "60", "--test-limit", "16",
                            "--projections", "4", "--quiet", "--json"])
        #expect(r.code == 0, "\(r.err)")
        let config = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
        #expect(config.contains("swinTransformer"), "\(config)")
        let swin = try trainingSections(dir + "/config.json")
        #expect(swin["regularizer"]?["tap"] as? String == "mlp-branch", "\(config)")
        #expect(swin["regularizer"]?["lambda"] as? Double == 0.1, "\(config)")
        #expect(swin["schedule"]?["kind"] as? String == "multistep", "\(config)")
        r = try lacoot(["score", "--run-dir", dir, "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("features.5.5") && r.out.contains("features.7.1"), "\(r.out)")
        r = try lacoot(["collapse", "--run-dir", dir, "--blocks", "features.5.4", "features.5.5", "--no-latency", "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        r = try lacoot(["evaluate", "--run-dir", dir, "--model", dir + "/collapsed.json", "--repeats", "1", "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("\"accuracy\""))
        // the transformer recipe is the default for transformers, flags override it
        r = try lacoot(["train", "--run-dir", dir + "-vit", "--model", "vit", "--patch-size", "8", "--depth", "1", "--width", "8",
                        "--heads", "2", "--mlp-dim", "8", "--epochs", "2", "--max-batches", "1", "--batch-size", "8",
                        "--train-limit", "40", "--test-limit", "8", "--projections", "4", "--lr", "0.002", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        let vit = try trainingSections(dir + "-vit/config.json")
        #expect(vit["optimizer"]?["kind"] as? String == "adamw" && vit["optimizer"]?["weightDecayScope"] as? String == "weights"
                && vit["optimizer"]?["gradientClipNorm"] as? Double == 1 && vit["optimizer"]?["learningRate"] as? Double == 0.002,
                "\(vit)")
        #expect(vit["top"]?["labelSmoothing"] as? Double == 0.1 && vit["schedule"]?["warmupEpochs"] as? Int == 1, "\(vit)")
        r = try lacoot(["train", "--run-dir", dir + "-cnn", "--model", "resnet18", "--tap", "mlp-branch"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--tap")
    }

    /// A torchvision ResNet-18 state dict saved by torch.save: imported for 10 classes (the
    /// 1000-class fc re-initialized, the 7×7 stem detected), fine-tuned on grayscale data
    /// repeated into 3 channels with ImageNet's normalization; a file of the wrong model lists
    /// the keys; a pickle that calls os.system is refused with exit 1 and runs nothing.
    @Test(.enabled(if: ReferencePython.engineHasTorchvision, "no torchvision in .venv-torch: run scripts/setup"))
    func importsPyTorchWeightsAndFineTunes() throws {
        let dir = try scratch() + "/import"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let python = ReferencePython.engine.path
        let script = """
            import os, sys, torch
            sys.path.insert(0, "\(repositoryRoot.path)/Benchmarks/reference")
            from torchvision_cpu import torchvision
            torch.save(torchvision.models.resnet18().state_dict(), "r18.pth")
            torch.save(torchvision.models.resnet34().state_dict(), "r34.pth")
            torch.save(torchvision.models.mobilenet_v2().state_dict(), "mnv2.pth")
            torch.save(torchvision.models.swin_t().state_dict(), "swin_t.pth")
            class Evil:
                def __reduce__(self):
                    return (os.system, ("touch \(dir)/PWNED",))
            torch.save({"fc.weight": torch.ones(2, 2), "x": Evil()}, "evil.pth")
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(message)")

        var r = try lacoot(["import", dir + "/r18.pth", "--model", "resnet18", "--classes", "10", "--run-dir", dir + "/ft",
                            "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("\"reinitialized\":[\"fc.weight\",\"fc.bias\"]") || r.out.contains("fc.weight"), "\(r.out)")
        // a convolutional network imported without --image-size takes the data at its own size
        #expect(r.out.contains("\"loaded\":120") && !r.out.contains("\"imageSize\""), "\(r.out)")
        r = try lacoot(["train", "--run-dir", dir + "/ft", "--epochs", "1", "--max-batches", "2", "--batch-size", "16",
                        "--train-limit", "100", "--test-limit", "20", "--lambda", "1", "--projections", "4", "--lr", "0.01",
                        "--quiet", "--json"])
        #expect(r.code == 0, "\(r.err)")
        let config = try String(contentsOfFile: dir + "/ft/config.json", encoding: .utf8)
        #expect(config.contains("\"channels\" : 3") && config.contains("0.485"), "\(config)")
        #expect(config.contains("\"stem\" : \"imageNet\""), "\(config)")
        // its config.json (with a normalization: a JSON object) matches its checkpoint, whatever the key order
        for _ in 0..<3 {
            r = try lacoot(["score", "--run-dir", dir + "/ft", "--projections", "4", "--quiet"])
            #expect(r.code == 0, "\(r.err)")
        }

        r = try lacoot(["import", dir + "/r18.pth", "--model", "resnet18", "--new-head", "--run-dir", dir + "/same", "--json", "--quiet"])
        #expect(r.code == 0 && r.out.contains("\"reinitialized\":[\"fc.weight\",\"fc.bias\"]"), "\(r.out) \(r.err)")
        // torchvision's mobilenet_v2 and swin_t under their own names, their classifiers re-initialized
        for (file, model, head) in [("mnv2.pth", "mobilenetv2", "classifier.1.weight"), ("swin_t.pth", "swin_t", "head.weight")] {
            r = try lacoot(["import", dir + "/" + file, "--model", model, "--classes", "7", "--run-dir", dir + "/" + model,
                            "--json", "--quiet"])
            #expect(r.code == 0 && r.out.contains(head) && r.out.contains("\"fileClassCount\":1000"), "\(model): \(r.out) \(r.err)")
            if model == "mobilenetv2" {
                let meta = try safetensorsParts(dir + "/mobilenetv2/imported.safetensors").header["__metadata__"] as? [String: String]
                #expect(meta?["lacoot_manifest"]?.contains("imageNet") == true, "torchvision's ImageNet stem expected: \(String(describing: meta))")
            }
        }
        r = try lacoot(["import", dir + "/r34.pth", "--model", "resnet18", "--run-dir", dir + "/wrong", "--quiet"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "unexpected (layer1.2")
        r = try lacoot(["import", dir + "/evil.pth", "--model", "resnet18", "--run-dir", dir + "/evil", "--quiet"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "refused: the pickle names posix.system")
        #expect(!FileManager.default.fileExists(atPath: dir + "/PWNED"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/evil/imported.safetensors"))
    }
}

/// config.json's training sections by name (the top-level training fields under "top").
func trainingSections(_ path: String) throws -> [String: [String: Any]] {
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
    let training = json?["training"] as? [String: Any] ?? [:]
    var sections = training.compactMapValues { $0 as? [String: Any] }
    sections["top"] = training.filter { !($0.value is [String: Any]) }
    return sections
}
