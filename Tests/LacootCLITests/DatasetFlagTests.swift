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
}
