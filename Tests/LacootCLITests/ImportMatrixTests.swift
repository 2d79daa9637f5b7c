import Foundation
import Testing
import TestSupport

/// Runs `script` with the engine's Python in `dir`; its stdout, or nil (recorded) when it fails.
private func python(_ script: String, in dir: String) throws -> String? {
    let r = try ReferencePython.run(ReferencePython.engine, ["-c", script], in: URL(fileURLWithPath: dir))
    #expect(r.status == 0, "\(r.errors)")
    return r.status == 0 ? r.output : nil
}

/// `lacoot import` over the checkpoint shapes people have (issue 21 §2), each file made by
/// torch.save in the test; imported values are compared with torch.load's by Python.
@Suite(.serialized, .enabled(if: ReferencePython.hasEngine, ".venv-torch (PyTorch 2.13) is missing: run scripts/setup"))
struct ImportMatrixTests {
    /// The CIFAR ResNet-18 of Benchmarks/reference/lacoot_official_checkpoint.py at width 4,
    /// saved bare, nested under each usual key, with wrapper prefixes, in fp16 and bf16, in the
    /// legacy format; each imports into `--model resnet18 --width 4` with the values torch.load
    /// gives (converted to float32 where they were not).
    @Test func everyShapeImportsWithTorchLoadsValues() throws {
        let dir = try scratch()
        guard try python("""
            import sys, torch
            sys.path.insert(0, "\(repositoryRoot.path)/Benchmarks/reference")
            from lacoot_official_checkpoint import CifarResNet18
            torch.manual_seed(0)
            sd = CifarResNet18(4).state_dict()
            torch.save(sd, "bare.pt")
            for key in ["state_dict", "model", "module", "net", "ema"]:
                torch.save({"epoch": 3, "acc": 0.9, key: sd, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}}, key + ".pt")
            for prefix in ["module.", "model.", "_orig_mod.", "module._orig_mod."]:
                torch.save({prefix + k: v for k, v in sd.items()}, "prefix-" + prefix.replace(".", "_") + ".pt")
            torch.save({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, "fp16.pt")
            torch.save({k: v.bfloat16() if v.is_floating_point() else v for k, v in sd.items()}, "bf16.pt")
            torch.save({"state_dict": {"module." + k: v for k, v in sd.items()}}, "legacy.pt", _use_new_zipfile_serialization=False)
            """, in: dir) != nil else { return }
        let rows: [(file: String, expected: [String])] = [
            ("bare.pt", ["\"format\":\"torch.save\""]),
            ("state_dict.pt", ["\"key\":\"state_dict\""]), ("model.pt", ["\"key\":\"model\""]),
            ("module.pt", ["\"key\":\"module\""]), ("net.pt", ["\"key\":\"net\""]), ("ema.pt", ["\"key\":\"ema\""]),
            ("prefix-module_.pt", ["\"strippedPrefix\":\"module.\""]), ("prefix-model_.pt", ["\"strippedPrefix\":\"model.\""]),
            ("prefix-_orig_mod_.pt", ["\"strippedPrefix\":\"_orig_mod.\""]),
            ("prefix-module__orig_mod_.pt", ["\"strippedPrefix\":\"module._orig_mod.\""]),
            ("fp16.pt", ["\"converted\":[\"102 float16 tensors\"]"]), ("bf16.pt", ["\"converted\":[\"102 bfloat16 tensors\"]"]),
            ("legacy.pt", ["\"format\":\"torch.save legacy format\"", "\"key\":\"state_dict\"", "\"strippedPrefix\":\"module.\""]),
        ]
        for row in rows {
            let r = try lacoot(["import", dir + "/" + row.file, "--model", "resnet18", "--width", "4", "--run-dir",
                                dir + "/run-" + row.file, "--json", "--quiet"])
            #expect(r.code == 0, "\(row.file): \(r.err)")
            #expect(r.out.contains("\"loaded\":122"), "\(row.file): \(r.out)")
            for text in row.expected { #expect(r.out.contains(text), "\(row.file): \(text) not in \(r.out)") }
        }
        // the text output says what was done
        let r = try lacoot(["import", dir + "/fp16.pt", "--model", "resnet18", "--width", "4", "--run-dir", dir + "/text"])
        #expect(r.code == 0 && r.out.contains("converted to float32: 102 float16 tensors"), "\(r.out)")
        // every imported file holds torch.load's values (fp16/bf16: those values as float32)
        let files = rows.map { "'\($0.file)'" }.joined(separator: ", ")
        let check = try python("""
            import torch, safetensors.torch
            sd = torch.load("bare.pt")
            for f in [\(files)]:
                got = safetensors.torch.load_file("run-" + f + "/imported.safetensors")
                cast = torch.float16 if f == "fp16.pt" else torch.bfloat16 if f == "bf16.pt" else None
                for k, v in sd.items():
                    want = v.to(cast).float() if cast and v.is_floating_point() else v
                    if not torch.equal(got[k], want): print("differs:", f, k)
            print("checked")
            """, in: dir)
        #expect(check == "checked\n", "\(check ?? "")")
    }

    /// Several fitting state dicts need --key (exit 2 listing them); --key picks one; a --key
    /// the file lacks lists what it has (exit 2).
    @Test func severalStateDictsNeedKey() throws {
        let dir = try scratch()
        guard try python("""
            import sys, torch
            sys.path.insert(0, "\(repositoryRoot.path)/Benchmarks/reference")
            from lacoot_official_checkpoint import CifarResNet18
            torch.manual_seed(0)
            a, b = CifarResNet18(4).state_dict(), CifarResNet18(4).state_dict()
            torch.save({"epoch": 1, "model": a, "ema": b}, "two.pt")
            """, in: dir) != nil else { return }
        let common = ["--model", "resnet18", "--width", "4", "--quiet"]
        var r = try lacoot(["import", dir + "/two.pt", "--run-dir", dir + "/a"] + common)
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "holds 2 state dicts that fit the model (model, ema); choose one with --key NAME")
        r = try lacoot(["import", dir + "/two.pt", "--run-dir", dir + "/b", "--key", "opt"] + common)
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--key opt: \(dir)/two.pt has no state dict under that name (it has: model, ema)")
        r = try lacoot(["import", dir + "/two.pt", "--run-dir", dir + "/c", "--key", "ema", "--json"] + common)
        #expect(r.code == 0 && r.out.contains("\"key\":\"ema\""), "\(r.out) \(r.err)")
        let check = try python("""
            import torch, safetensors.torch
            got, want = safetensors.torch.load_file("c/imported.safetensors"), torch.load("two.pt")["ema"]
            print(all(torch.equal(got[k], v) for k, v in want.items()))
            """, in: dir)
        #expect(check == "True\n", "--key ema did not import the ema weights: \(check ?? "")")
    }

    /// Truncated, corrupt and code-carrying files: exit 1, one line naming the file.
    @Test func brokenFilesEndInOneLine() throws {
        let dir = try scratch()
        guard try python("""
            import torch
            sd = torch.nn.Linear(2, 2).state_dict()
            torch.save(sd, "ok.pt")
            torch.save(sd, "legacy.pt", _use_new_zipfile_serialization=False)
            for f in ["ok.pt", "legacy.pt"]:
                data = open(f, "rb").read()
                open("cut-" + f, "wb").write(data[: len(data) * 2 // 3])
            open("garbage.pt", "wb").write(bytes(range(256)) * 4)
            torch.save(torch.nn.Linear(2, 2), "whole-model.pt")
            """, in: dir) != nil else { return }
        let cases = [("cut-ok.pt", "not a PyTorch zip archive"), ("cut-legacy.pt", "truncated"),
                     ("garbage.pt", "not a PyTorch zip archive"), ("whole-model.pt", "save model.state_dict() instead")]
        for (file, expected) in cases {
            let r = try lacoot(["import", dir + "/" + file, "--model", "resnet18", "--width", "4", "--run-dir", dir + "/r-" + file, "--quiet"])
            #expect(r.code == 1, "\(file): \(r.code) \(r.err)")
            expectOneLine(r.err, contains: dir + "/" + file)
            expectOneLine(r.err, contains: expected)
            #expect(r.err.split(separator: "\n").count == 1, "\(file): \(r.err)")
        }
    }

    /// Checkpoints as the official LaCoOT main.py writes them ({'model_state_dict', 'optimizer_state_dict',
    /// 'epoch', accuracies}) for its CIFAR ResNet-18 and, with --cifar-stem, its CIFAR MobileNetV2.
    @Test func officialLaCoOTCheckpointsImport() throws {
        let dir = try scratch()
        let script = repositoryRoot.path + "/Benchmarks/reference/lacoot_official_checkpoint.py"
        for (model, flags) in [("resnet18", ["--width", "8"]), ("mobilenetv2", ["--cifar-stem"])] {
            let out = dir + "/" + model
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let made = try ReferencePython.run(ReferencePython.engine, [script, model, out, "--width", "8", "--count", "2"])
            try #require(made.status == 0, "\(made.errors)")
            let r = try lacoot(["import", out + "/checkpoint.pt", "--model", model, "--run-dir", out + "/run"] + flags)
            #expect(r.code == 0, "\(model): \(r.err)")
            #expect(r.out.contains("entry 'model_state_dict'") && r.out.contains("the data's own size"), "\(model): \(r.out)")
            #expect(r.out.contains(model == "resnet18" ? "cifar stem, width 8, 10 classes" : "MobileNetV2 (cifar"), "\(model): \(r.out)")
        }
    }
}
