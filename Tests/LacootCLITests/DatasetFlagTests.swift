import Foundation
import Testing

/// `--split-index`, `--target-domain` and the transfer datasets from the command line.
@Suite struct DatasetFlagTests {
    @Test func layoutFlagsAreCheckedAndErrorsNameTheFile() throws {
        let dir = try scratch()
        var r = try lacoot(["train", "--run-dir", dir + "/a", "--dataset", "cifar10", "--split-index", "2"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--split-index applies to --dataset dtd only")
        r = try lacoot(["train", "--run-dir", dir + "/a", "--dataset", "dtd", "--split-index", "11"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--split-index")
        r = try lacoot(["train", "--run-dir", dir + "/a", "--dataset", "dtd", "--target-domain", "photo"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--target-domain applies to --dataset pacs or vlcs only")
        // A DTD folder whose split file names a class that has no folder.
        try FileManager.default.createDirectory(atPath: dir + "/dtd/images/banded", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/dtd/labels", withIntermediateDirectories: true)
        try "striped/striped_0001.jpg\n".write(toFile: dir + "/dtd/labels/train1.txt", atomically: true, encoding: .utf8)
        r = try lacoot(["train", "--run-dir", dir + "/b", "--dataset", "dtd", "--data-dir", dir + "/dtd", "--quiet"])
        #expect(r.code == 1)
        expectOneLine(r.err, contains: dir + "/dtd/labels/train1.txt' line 1: class 'striped'")
        #expect(r.err.split(separator: "\n").count == 1, "more than one line: \(r.err)")
        let help = try lacoot(["train", "--help"])
        #expect(help.out.contains("flowers102") && help.out.contains("--target-domain") && help.out.contains("224"))
    }

    /// `--augment` is checked, written to config.json (the dataset's default when not given)
    /// and kept by `--resume`.
    @Test func augmentIsCheckedRecordedAndKept() throws {
        let dir = try scratch()
        let tiny = ["--width", "4", "--epochs", "1", "--max-batches", "1", "--batch-size", "8", "--train-limit", "40",
                    "--test-limit", "8", "--lambda", "0", "--quiet"]
        var r = try lacoot(["train", "--run-dir", dir + "/bad", "--augment", "blur"] + tiny)
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--augment")
        r = try lacoot(["train", "--run-dir", dir + "/bad", "--augment", "crop", "--no-augment"] + tiny)
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--no-augment and --augment crop contradict each other")
        r = try lacoot(["train", "--run-dir", dir + "/bad", "--augment", "crop,resized-crop"] + tiny)
        #expect(r.code == 2)
        #expect(!FileManager.default.fileExists(atPath: dir + "/bad"))
        func augmentation(_ run: String) throws -> [String: Any]? {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + run + "/config.json"))
            let config = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            return (config?["training"] as? [String: Any])?["augmentation"] as? [String: Any]
        }
        r = try lacoot(["train", "--run-dir", dir + "/default"] + tiny)
        try #require(r.code == 0, "\(r.err)")
        #expect(try augmentation("default")?["operations"] as? String == "crop,flip")   // Fashion-MNIST's default
        r = try lacoot(["train", "--run-dir", dir + "/flip", "--augment", "resized-crop,flip"] + tiny)
        try #require(r.code == 0, "\(r.err)")
        #expect(try augmentation("flip")?["operations"] as? String == "resized-crop,flip")
        // --resume trains on with the recorded augmentation (flags of a new run are not read)
        r = try lacoot(["train", "--run-dir", dir + "/flip", "--resume", "--epochs", "2", "--augment", "none"] + tiny.dropFirst(4))
        #expect(r.code == 0, "\(r.err)")
        #expect(try augmentation("flip")?["operations"] as? String == "resized-crop,flip")
        let help = try lacoot(["train", "--help"])
        #expect(help.out.contains("--augment") && help.out.contains("a mirrored 2, 5 or 7"))
    }
}
