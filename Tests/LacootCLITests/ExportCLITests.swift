import Foundation
import Testing
import TestSupport

/// `lacoot export` end to end: a collapsed Fashion-MNIST model leaves lacoot as an ONNX file
/// and classifies the test images in ONNX Runtime, prepared from the file's metadata alone,
/// with the accuracy `lacoot evaluate` gives.
@Suite(.serialized) struct ExportCLITests {
    @Test(.enabled(if: ReferencePython.hasONNXRuntime, "needs onnx and onnxruntime in .venv-ref (scripts/setup-python)"))
    func anExportedCollapsedModelClassifiesLikeLacootEvaluate() throws {
        let dir = try scratch() + "/run"
        var r = try lacoot(["train", "--run-dir", dir, "--width", "8", "--epochs", "1", "--max-batches", "25",
                            "--batch-size", "64", "--train-limit", "2000", "--test-limit", "500", "--lambda", "1",
                            "--projections", "8", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        r = try lacoot(["collapse", "--run-dir", dir, "--remove", "2", "--no-latency", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        r = try lacoot(["evaluate", "--run-dir", dir, "--model", dir + "/collapsed.json", "--repeats", "1", "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        let evaluated = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let lacootAccuracy = try #require(evaluated["accuracy"] as? Double)

        let onnxPath = dir + "/model.onnx"
        r = try lacoot(["export", "--run-dir", dir, "-o", onnxPath, "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect((summary["removedBlocks"] as? [String])?.count == 2, "\(r.out)")
        let script = repositoryRoot.appendingPathComponent("Benchmarks/reference/onnx_fashion_mnist.py").path
        let result = try ReferencePython.run(ReferencePython.reference, [script, onnxPath, "--limit", "500"])
        #expect(result.status == 0, "\(result.errors)")
        let ort = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let ortAccuracy = try #require(ort["accuracy"] as? Double)
        #expect(abs(ortAccuracy - lacootAccuracy) < 1e-9, "ONNX Runtime \(ortAccuracy) % vs lacoot evaluate \(lacootAccuracy) %")
        #expect(lacootAccuracy > 30, "the tiny model learned nothing (\(lacootAccuracy) %): the comparison would prove little")
        #expect((ort["first"] as? [String])?.first?.isEmpty == false, "class names come from the metadata")

        // the full model with --full; a fixed batch; errors on one line
        r = try lacoot(["export", "--run-dir", dir, "--full", "--batch", "4", "-o", dir + "/full.onnx", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("removed blocks: none") && r.out.contains("batch 4"), "\(r.out)")
        r = try lacoot(["export", "--model", dir + "/missing.json", "-o", dir + "/x.onnx"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "missing.json")
        r = try lacoot(["export", "--run-dir", dir, "--opset", "11", "-o", dir + "/x.onnx"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--opset 11")
        r = try lacoot(["export", "--run-dir", dir, "-o", dir + "/no/such/folder/x.onnx"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: "no/such/folder")
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.onnx"), "no file is written when the export fails")
    }
}
