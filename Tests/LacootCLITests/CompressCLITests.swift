import Foundation
import Testing

@Suite(.serialized) struct CompressCLITests {
    /// `lacoot compress` end to end on a tiny slice: the issue's JSON, the files `collapse`
    /// writes, the collapsed model evaluated, a finished run compressed again with --resume.
    @Test func compressWritesTheModelTheReportAndTheJSON() throws {
        let dir = try scratch() + "/run"
        let common = ["--width", "4", "--epochs", "2", "--batch-size", "32", "--train-limit", "320",
                      "--test-limit", "64", "--projections", "8", "--bn-images", "64", "--max-drop", "100",
                      "--no-latency", "--quiet", "--json"]
        var r = try lacoot(["compress", "--run-dir", dir] + common)
        #expect(r.code == 0, "\(r.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out)")
        let full = try #require(json["full"] as? [String: Any])
        let compressed = try #require(json["compressed"] as? [String: Any])
        for key in ["accuracy", "macs", "params"] {
            #expect(full[key] != nil && compressed[key] != nil, "\(key) missing")
        }
        let removed = try #require(compressed["removed"] as? [String])
        let lambdas = try #require(json["lambda_final"] as? [String: Double])
        #expect(Set(lambdas.keys) == ["layer1.1", "layer2.1", "layer3.1", "layer4.1"])
        #expect(json["epochs"] as? Int == 2)
        // the default target (half the MACs) needs all four blocks of ResNet-18, and this budget lets them go
        #expect(Set(removed) == Set(lambdas.keys))
        #expect((compressed["macs"] as! Int) * 2 <= (full["macs"] as! Int))
        #expect(json["target_met"] as? Bool == true)
        #expect((json["compressed_without_bn_reestimation"] as? [String: Any])?["accuracy"] != nil)
        for file in ["config.json", "metrics.jsonl", "checkpoint.safetensors", "collapsed.json", "collapsed.safetensors",
                     "report.json", "report.md", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "\(file) missing")
        }
        let report = try String(contentsOfFile: dir + "/report.md", encoding: .utf8)
        #expect(report.contains("statistics pass"), "\(report)")
        #expect(report.contains("(λ = adaptive, final "), "\(report)")
        let metrics = try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8)
        #expect(metrics.contains("\"block_lambdas\":{\"layer1.1\":"), "\(metrics)")
        let config = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
        #expect(config.contains("adaptiveLambda") && config.contains("\"zeroInitResidual\" : true"))
        r = try lacoot(["evaluate", "--run-dir", dir, "--model", dir + "/collapsed.json", "--repeats", "1", "--json", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        // the same accuracy as compress reported for the compressed model
        let evaluated = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect("\(evaluated)".contains("\(compressed["accuracy"]!)"), "\(evaluated) vs \(compressed)")
        // a finished run: --resume trains no further and compresses again, with the same result
        r = try lacoot(["compress", "--run-dir", dir, "--resume", "--bn-images", "64", "--max-drop", "100", "--no-latency", "--quiet", "--json"])
        #expect(r.code == 0, "\(r.err)")
        let again = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let first = try #require(json["compressed"] as? [String: Any]), second = try #require(again["compressed"] as? [String: Any])
        #expect(NSDictionary(dictionary: first).isEqual(to: second), "\(first) vs \(second)")
        // a second compress into the folder is refused; so is a fixed-λ run resumed with compress
        r = try lacoot(["compress", "--run-dir", dir] + common)
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--resume")
        let plain = try scratch() + "/plain"
        r = try lacoot(["train", "--run-dir", plain, "--width", "4", "--epochs", "1", "--max-batches", "2", "--batch-size", "32",
                        "--train-limit", "320", "--test-limit", "64", "--quiet"])
        #expect(r.code == 0, "\(r.err)")
        r = try lacoot(["compress", "--run-dir", plain, "--resume", "--quiet"])
        #expect(r.code != 0)
        expectOneLine(r.err, contains: "fixed λ")
    }

    @Test func compressFlagsAreRangeChecked() throws {
        let dir = try scratch()
        for (flag, value) in [("--target-macs", "0"), ("--target-macs", "1.5"), ("--epsilon", "-1"), ("--max-drop", "nan"),
                              ("--initial-lambda", "50"), ("--bn-images", "0"), ("--reach-at", "0"),
                              ("--selection-at", "1.5"), ("--selection", "random"), ("--target-tolerance", "0.7"),
                              ("--target-tolerance", "-0.1")] {
            let r = try lacoot(["compress", "--run-dir", dir + "/x", flag, value])
            #expect(r.code == 2, "\(flag) \(value)")
            expectOneLine(r.err, contains: flag)
        }
        let r = try lacoot(["compress", "--run-dir", dir + "/x", "--selection-at", "0.6", "--reach-at", "0.5"])
        #expect(r.code == 2)
        expectOneLine(r.err, contains: "--selection-at 0.6 must come before --reach-at 0.5")
    }
}
