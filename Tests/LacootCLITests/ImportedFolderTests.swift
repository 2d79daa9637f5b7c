import Foundation
import Testing

/// A folder made by `lacoot import` is a run folder: every command that takes `--run-dir`
/// works on it, with what import was told (image size, normalization, classes); a model file
/// is evaluated without a run folder.
@Suite(.serialized) struct ImportedFolderTests {
    /// A tiny state dict made by lacoot itself: a width-4 ResNet-18 trained for two batches on
    /// Fashion-MNIST, saved with every block (`collapse --remove 0`): PyTorch's keys in a
    /// .safetensors file. Returns the source run's folder.
    private func tinySource(_ dir: String) throws -> String {
        let run = dir + "/source"
        var r = try lacoot(["train", "--run-dir", run, "--width", "4", "--epochs", "1", "--max-batches", "2",
                            "--batch-size", "32", "--train-limit", "200", "--test-limit", "50", "--lambda", "0", "--quiet"])
        try #require(r.code == 0, "\(r.err)")
        r = try lacoot(["collapse", "--run-dir", run, "--remove", "0", "--no-latency", "--quiet"])
        try #require(r.code == 0, "\(r.err)")
        return run
    }

    /// The normalization a model file records, as `--mean`/`--std` flags.
    private func normalizationFlags(_ manifest: String) throws -> [String] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifest))) as? [String: Any]
        let n = try #require(json?["normalization"] as? [String: [Double]])
        return ["--mean"] + (n["mean"] ?? []).map { "\($0)" } + ["--std"] + (n["std"] ?? []).map { "\($0)" }
    }

    private func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    /// The manifest in a model file's safetensors metadata.
    private func embeddedManifest(_ path: String) throws -> [String: Any] {
        let meta = try #require(try safetensorsParts(path).header["__metadata__"] as? [String: String])
        return try object(try #require(meta["lacoot_manifest"]))
    }

    /// evaluate, score, collapse and predict on an imported folder, with the data flags; the
    /// imported weights evaluate exactly as the run they came from; scores are reused only for
    /// the same data; a trained run refuses data flags; a model file is evaluated alone.
    @Test func evaluateScoreCollapsePredictWorkOnAnImportedFolder() throws {
        let dir = try scratch()
        let source = try tinySource(dir)
        let stateDict = source + "/collapsed.safetensors", folder = dir + "/imported"
        var r = try lacoot(["import", stateDict, "--model", "resnet18", "--width", "4", "--run-dir", folder, "--quiet"]
                           + normalizationFlags(source + "/collapsed.json"))
        try #require(r.code == 0, "\(r.err)")
        let data = ["--train-limit", "200", "--test-limit", "50"]
        r = try lacoot(["evaluate", "--run-dir", folder, "--repeats", "1", "--json", "--quiet"] + data)
        #expect(r.code == 0, "\(r.err)")
        let imported = try object(r.out)
        let accuracy = try #require(imported["accuracy"] as? Double), macs = try #require(imported["macs"] as? Int)
        r = try lacoot(["evaluate", "--run-dir", source, "--model", stateDict, "--repeats", "1", "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        let trained = try object(r.out)
        #expect(accuracy == trained["accuracy"] as? Double && macs == trained["macs"] as? Int,
                "imported \(imported) vs the source run \(trained)")
        // a model file alone, on the data the flags name: the same figures
        r = try lacoot(["evaluate", "--model", source + "/collapsed.json", "--dataset", "fashion-mnist", "--test-limit", "50",
                        "--repeats", "1", "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        #expect(try object(r.out)["accuracy"] as? Double == accuracy, "\(r.out) vs \(trained)")

        r = try lacoot(["score", "--run-dir", folder, "--projections", "4", "--json", "--quiet"] + data)
        #expect(r.code == 0 && r.out.contains("layer4.1"), "\(r.out) \(r.err)")
        r = try lacoot(["collapse", "--run-dir", folder, "--remove", "1", "--projections", "4", "--no-latency", "--json"] + data)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.err.contains("using the block distances"), "scores of the same data not reused: \(r.err)")
        let collapsed = try object(String(decoding: try Data(contentsOf: URL(fileURLWithPath: folder + "/collapsed.json")), as: UTF8.self))
        #expect(collapsed["input_shape"] as? [Int] == [1, 32, 32] && (collapsed["removed_blocks"] as? [String])?.count == 1, "\(collapsed)")
        r = try lacoot(["collapse", "--run-dir", folder, "--remove", "1", "--projections", "4", "--no-latency",
                        "--train-limit", "300", "--test-limit", "50"])
        #expect(r.code == 0 && r.err.contains("measuring again"), "scores of other data reused: \(r.err)")

        let png = dir + "/dot.png"
        try Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVQI12NgAAAAAgAB4iG8MwAAAABJRU5ErkJggg==")!
            .write(to: URL(fileURLWithPath: png))
        r = try lacoot(["predict", "--run-dir", folder, png, "--top", "2"])
        #expect(r.code == 0 && r.out.contains("dot.png: "), "\(r.out) \(r.err)")

        // the data flags belong to imported weights and model files, not to a trained run
        r = try lacoot(["score", "--run-dir", source, "--dataset", "mnist", "--quiet"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "is a trained run")
        r = try lacoot(["evaluate", "--repeats", "1"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--run-dir, --model")
    }

    /// `train` and `compress` start from an imported folder: its channels, input size and
    /// normalization land in config.json, and the trained folder is an ordinary run.
    @Test func trainAndCompressStartFromAnImportedFolder() throws {
        let dir = try scratch()
        let source = try tinySource(dir)
        for command in ["train", "compress"] {
            let folder = dir + "/" + command
            var r = try lacoot(["import", source + "/collapsed.safetensors", "--model", "resnet18", "--width", "4",
                                "--run-dir", folder, "--mean", "0.25", "--std", "0.5", "--quiet"])
            try #require(r.code == 0, "\(r.err)")
            let extra = command == "train" ? ["--lambda", "1"] : ["--bn-images", "64", "--max-drop", "0", "--no-latency", "--distill", "1"]
            r = try lacoot([command, "--run-dir", folder, "--epochs", "1", "--max-batches", "2", "--batch-size", "32",
                            "--train-limit", "200", "--test-limit", "50", "--projections", "4", "--quiet", "--json"] + extra)
            #expect(r.code == 0, "\(command): \(r.err)")
            if command == "compress" {
                // imported weights take the identity path: the chosen blocks end at scale 0, so removing
                // them costs nothing (even at --max-drop 0) and changes no accuracy before the re-estimation
                let out = try object(r.out)
                let full = try #require(out["full"] as? [String: Any]), plain = try #require(out["compressed_without_bn_reestimation"] as? [String: Any])
                #expect((out["rejected"] as? [String]) == [], "\(r.out)")
                #expect((out["target_met"] as? Bool) == true, "\(r.out)")
                #expect(full["accuracy"] as? Double == plain["accuracy"] as? Double, "\(r.out)")
                #expect(FileManager.default.fileExists(atPath: folder + "/teacher.safetensors"))
            }
            let config = try String(contentsOfFile: folder + "/config.json", encoding: .utf8)
            if command == "compress" {
                // trained convolutional blocks: chosen at 5 % of the steps, gone by 30 %
                for field in ["\"identityPath\"", "\"linear\"", "\"distillation\"", "\"selection\" : \"ablation\"",
                              "\"selectionFraction\" : 0.05", "\"reachFraction\" : 0.3"] {
                    #expect(config.contains(field), "\(field) missing from \(config)")
                }
            }
            for field in ["\"padTo\" : 32", "\"channels\" : 1", "0.25", "\"width\" : 4"] {
                #expect(config.contains(field), "\(command): \(field) missing from \(config)")
            }
            r = try lacoot(["evaluate", "--run-dir", folder, "--repeats", "1", "--json", "--quiet"])
            #expect(r.code == 0 && r.out.contains("\"accuracy\""), "\(command): \(r.err)")
        }
    }

    /// The recipe, compress's defaults and the tap rules follow the imported weights' family,
    /// not `--model`'s default (resnet18): an imported ViT compressed without `--model` trains
    /// with the transformer recipe (AdamW) and the imported transformer's timing (2 % / 15 %),
    /// and `--tap mlp-branch` is accepted for it.
    @Test func importedTransformersTakeTheirFamilysRecipeAndDefaults() throws {
        let dir = try scratch()
        let sizes = ["--model", "vit", "--patch-size", "8", "--depth", "2", "--width", "8", "--heads", "2", "--mlp-dim", "8"]
        let run = dir + "/source"
        var r = try lacoot(["train", "--run-dir", run, "--epochs", "1", "--max-batches", "1", "--batch-size", "16",
                            "--train-limit", "100", "--test-limit", "20", "--lambda", "0", "--quiet"] + sizes)
        try #require(r.code == 0, "\(r.err)")
        r = try lacoot(["collapse", "--run-dir", run, "--remove", "0", "--no-latency", "--quiet"])
        try #require(r.code == 0, "\(r.err)")
        let tiny = ["--epochs", "1", "--max-batches", "2", "--batch-size", "16", "--train-limit", "100", "--test-limit", "20",
                    "--projections", "4", "--quiet"]
        for command in ["compress", "train"] {
            let folder = dir + "/" + command
            r = try lacoot(["import", run + "/collapsed.safetensors", "--image-size", "32", "--run-dir", folder, "--quiet"] + sizes)
            try #require(r.code == 0, "\(r.err)")
            let extra = command == "compress" ? ["--bn-images", "32", "--no-latency"] : ["--tap", "mlp-branch", "--lambda", "1"]
            r = try lacoot([command, "--run-dir", folder] + tiny + extra)
            #expect(r.code == 0, "\(command): \(r.err)")
            let sections = try trainingSections(folder + "/config.json")
            #expect(sections["optimizer"]?["kind"] as? String == "adamw", "\(command): \(sections)")
            if command == "compress" {
                let adaptive = sections["regularizer"]?["adaptiveLambda"] as? [String: Any]
                #expect(adaptive?["selectionFraction"] as? Double == 0.02 && adaptive?["reachFraction"] as? Double == 0.15,
                        "\(sections)")
            } else {
                #expect(sections["regularizer"]?["tap"] as? String == "mlp-branch", "\(sections)")
            }
        }
    }

    /// Imported at 64 px: the model file says 64 (its MACs too), `predict` brings images to
    /// 64×64 from the folder and from the model file alike, `evaluate` pads Fashion-MNIST to
    /// 64 (the MACs the model file records), and another size is a usage error.
    @Test func theImportedImageSizeIsUsedEverywhere() throws {
        let dir = try scratch()
        let source = try tinySource(dir)
        let folder = dir + "/imported64"
        var r = try lacoot(["import", source + "/collapsed.safetensors", "--model", "resnet18", "--width", "4",
                            "--image-size", "64", "--run-dir", folder, "--quiet"])
        try #require(r.code == 0, "\(r.err)")
        let manifest = try embeddedManifest(folder + "/imported.safetensors")
        #expect(manifest["input_shape"] as? [Int] == [1, 64, 64], "\(manifest)")
        let macs32 = try #require(try embeddedManifest(source + "/collapsed.safetensors")["macs"] as? Int)
        let png = dir + "/dot.png"
        try Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVQI12NgAAAAAgAB4iG8MwAAAABJRU5ErkJggg==")!
            .write(to: URL(fileURLWithPath: png))
        r = try lacoot(["predict", "--run-dir", folder, png, "--json"])
        #expect(r.code == 0 && r.err.contains("input: 1×64×64"), "\(r.err)")
        let fromFolder = r.out
        r = try lacoot(["predict", "--model", folder + "/imported.safetensors", png, "--json"])
        #expect(r.code == 0 && r.err.contains("input: 1×64×64"), "\(r.err)")
        #expect(r.out == fromFolder, "\(r.out) vs \(fromFolder)")

        r = try lacoot(["evaluate", "--run-dir", folder, "--test-limit", "20", "--repeats", "1", "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        let manifestMACs = try #require(manifest["macs"] as? Int)
        #expect(try object(r.out)["macs"] as? Int == manifestMACs, "\(r.out) vs the manifest's \(manifestMACs)")
        #expect(manifestMACs > 3 * macs32, "MACs at 64 px \(manifestMACs), at 32 px \(macs32)")
        r = try lacoot(["evaluate", "--run-dir", folder, "--pad-to", "32", "--repeats", "1", "--quiet"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--pad-to 32")
    }

    /// Weights of a convolutional network imported without `--image-size` (here an ImageNet
    /// stem, nominally 224) take the data at its own size, as a new run would — not zero-padded
    /// to 224 — and import.json says so; with `--image-size` the size is fixed.
    @Test func aConvolutionalNetworkImportedWithoutASizeTakesTheDatasOwn() throws {
        let dir = try scratch()
        let run = dir + "/source"
        var r = try lacoot(["train", "--run-dir", run, "--width", "4", "--imagenet-stem", "--epochs", "1", "--max-batches", "1",
                            "--batch-size", "16", "--train-limit", "100", "--test-limit", "20", "--lambda", "0", "--quiet"])
        try #require(r.code == 0, "\(r.err)")
        r = try lacoot(["collapse", "--run-dir", run, "--remove", "0", "--no-latency", "--quiet"])
        try #require(r.code == 0, "\(r.err)")
        let folder = dir + "/imported"
        r = try lacoot(["import", run + "/collapsed.safetensors", "--model", "resnet18", "--width", "4", "--run-dir", folder,
                        "--quiet"] + normalizationFlags(run + "/collapsed.json"))
        try #require(r.code == 0, "\(r.err)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/import.json")))
        #expect((report as? [String: Any])?["imageSize"] == nil, "\(report)")
        let data = ["--train-limit", "100", "--test-limit", "20", "--repeats", "1", "--json", "--quiet"]
        r = try lacoot(["evaluate", "--run-dir", folder] + data)
        #expect(r.code == 0, "\(r.err)")
        let imported = try object(r.out)
        r = try lacoot(["evaluate", "--run-dir", run, "--model", run + "/collapsed.safetensors", "--repeats", "1", "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        let trained = try object(r.out)
        // the same MACs as the source run at 32×32 (at 224 they would be ≈ 49× more)
        #expect(imported["macs"] as? Int == trained["macs"] as? Int, "imported \(imported) vs trained \(trained)")
        #expect(imported["accuracy"] as? Double == trained["accuracy"] as? Double)
    }
}
