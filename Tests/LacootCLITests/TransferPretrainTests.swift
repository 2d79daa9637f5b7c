import Foundation
import Testing
import TestSupport

/// The transfer experiments' sources (docs/RESULTS.md, "pretrained"): Benchmarks/reference/
/// transfer_pretrain.py trains each model in PyTorch on Fashion-MNIST classes 0–4 and writes
/// classes 5–9 as a folder. Here every model runs tiny (one batch, a few test images, three
/// images per class), and what it writes goes through the commands RESULTS.md gives: imported
/// with a new 5-class head, then evaluated on the folder.
@Suite(.serialized, .enabled(if: ReferencePython.engineHasTorchvision,
                             ".venv-torch with torchvision is missing: run scripts/setup"))
struct TransferPretrainTests {
    /// Each model: its file name, the import flags RESULTS.md uses, its state dict's tensors and its head.
    static let models: [(name: String, file: String, flags: [String], tensors: Int, head: String)] = [
        ("resnet18", "pretrained.pth", [], 122, "fc.weight"),
        ("mobilenetv2", "pretrained-mobilenetv2.pth", [], 314, "classifier.1.weight"),
        ("vit", "pretrained-vit.pth", ["--image-size", "32"], 104, "heads.head.weight"),
        ("swin_t", "pretrained-swin_t.pth", [], 185, "head.weight"),
    ]

    @Test func everySourceTrainsTinyAndImportsWithANewHead() throws {
        let dir = try scratch()
        let script = repositoryRoot.path + "/Benchmarks/reference/transfer_pretrain.py"
        for model in Self.models {
            let made = try ReferencePython.run(ReferencePython.engine, [
                script, dir, "--model", model.name, "--train-limit", "128", "--epochs", "1",
                "--test-limit", "40", "--target-limit", "3", "--threads", "1",
            ])
            try #require(made.status == 0, "\(model.name): \(made.errors)")
            let summary = try #require(
                try JSONSerialization.jsonObject(with: Data(made.output.utf8)) as? [String: Any], "\(made.output)")
            #expect(summary["model"] as? String == model.name)
            #expect(summary["train_images"] as? Int == 128 && summary["test_images"] as? Int == 40, "\(summary)")
            #expect(summary["pretrained"] as? String == dir + "/" + model.file, "\(summary)")
            // the first model writes the target folder, the others find it
            #expect(summary["folder_written"] as? Bool == (model.name == "resnet18"), "\(summary)")

            let run = dir + "/run-" + model.name
            let imported = try lacoot(["import", dir + "/" + model.file, "--model", model.name, "--classes", "5",
                                       "--new-head", "--run-dir", run, "--json", "--quiet"] + model.flags)
            #expect(imported.code == 0, "\(model.name): \(imported.err)")
            #expect(imported.out.contains("\"tensorsInFile\":\(model.tensors)"), "\(model.name): \(imported.out)")
            #expect(imported.out.contains("\"loaded\":\(model.tensors - 2)"), "\(model.name): \(imported.out)")
            #expect(imported.out.contains("\"reinitialized\":[\"\(model.head)\""), "\(model.name): \(imported.out)")
        }
        // classes 5–9, three images each in train and test
        let folder = dir + "/fmnist-5-9-first3"
        for split in ["train", "test"] {
            let classes = try FileManager.default.contentsOfDirectory(atPath: folder + "/" + split).sorted()
            #expect(classes == ["5-Sandal", "6-Shirt", "7-Sneaker", "8-Bag", "9-Ankle boot"], "\(split): \(classes)")
            for name in classes {
                let images = try FileManager.default.contentsOfDirectory(atPath: folder + "/" + split + "/" + name)
                #expect(images.count == 3, "\(split)/\(name): \(images.count) images")
            }
        }
        // the imported network reads the folder: 15 test images, an accuracy of k/15
        let evaluated = try lacoot(["evaluate", "--run-dir", dir + "/run-resnet18", "--dataset", "folder",
                                    "--data-dir", folder, "--repeats", "1", "--json", "--quiet"])
        #expect(evaluated.code == 0, "\(evaluated.err)")
        let result = try JSONSerialization.jsonObject(with: Data(evaluated.out.utf8)) as? [String: Any]
        let accuracy = try #require(result?["accuracy"] as? Double, "\(evaluated.out)")
        let correct = accuracy * 15 / 100
        #expect(abs(correct - correct.rounded()) < 1e-6 && (0...15).contains(correct.rounded()), "\(accuracy)")
    }

    /// A limit below one is refused with the flag named (argparse's exit 2), before any training.
    @Test func aLimitBelowOneNamesTheFlag() throws {
        let dir = try scratch()
        let script = repositoryRoot.path + "/Benchmarks/reference/transfer_pretrain.py"
        let r = try ReferencePython.run(ReferencePython.engine, [script, dir, "--train-limit", "128", "--test-limit", "0"])
        #expect(r.status == 2, "\(r.errors)")
        #expect(r.errors.contains("--test-limit 0: must be at least 1"), "\(r.errors)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/pretrained.pth"))
    }
}
