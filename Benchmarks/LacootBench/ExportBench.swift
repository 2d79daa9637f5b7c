import Foundation
import LacootExport
import LacootWorkflow
import Models
import NN
import Torch

/// Issue 24: the demo's network (ResNet-18, CIFAR stem, width 64, 1×32×32 inputs, 10 classes)
/// exported to ONNX, full and with the four `layerX.1` blocks removed; ONNX Runtime's latency
/// at batch 1 and 128 (2 threads) against lacoot's own, interleaved, and their logits compared.
enum ExportBench {
    static let removed = ["layer1.1", "layer2.1", "layer3.1", "layer4.1"]
    static let sample = [1, 32, 32]

    static func model(collapsed: Bool) throws -> any CollapsibleModel {
        let m = try Demo.architecture(.resnet18, width: 64, classCount: 10, inputChannels: 1).build(generator: Generator(seed: 0))
        if collapsed { try m.collapse(removed) }
        m.eval()
        return m
    }

    /// Every family at torchvision's size, with the block removed for its collapsed variant.
    static var largeModels: [(ModelArchitecture, String)] {
        [
            (ModelArchitecture(kind: .visionTransformer, classCount: 1000, inputChannels: 3, stem: .imageNet, transformer: .vitB16),
             "encoder.layers.encoder_layer_11"),
            (ModelArchitecture(kind: .swinTransformer, classCount: 1000, inputChannels: 3, stem: .imageNet, swin: .swinT), "features.5.3"),
            (ModelArchitecture(kind: .resNet50, classCount: 1000, inputChannels: 3, stem: .imageNet, width: 64), "layer3.4"),
            (ModelArchitecture(kind: .mobileNetV2, classCount: 1000, inputChannels: 3, stem: .imageNet), "features.13"),
        ]
    }

    /// Max |ONNX Runtime − lacoot| on `batch` random images, the largest logit, and the node count.
    static func parity(_ m: any CollapsibleModel, sample: [Int], batch: Int, ort: PythonWorker, folder: URL) throws
        -> (diff: Double, scale: Double, nodes: Int) {
        let onnx = try ONNXExporter.export(m, sampleShape: sample)
        let url = folder.appendingPathComponent("parity-\(UUID().uuidString).onnx")   // the worker caches sessions by path
        defer { try? FileManager.default.removeItem(at: url) }
        try onnx.write(to: url)
        let x = try Tensor.randn([batch] + sample, generator: Generator(seed: 3))
        let input = folder.appendingPathComponent("input.f32"), output = folder.appendingPathComponent("output.f32")
        try Data(x.contiguous().bytes()).write(to: input)
        _ = try ort.request(["cmd": "run", "model": url.path, "input": input.path, "shape": x.shape, "output": output.path])
        let theirs = try Data(contentsOf: output).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let ours = try withNoGrad { try m(x) }.floats()
        let diff = zip(ours, theirs).map { Double(abs($0 - $1)) }.max() ?? .nan
        return (diff, Double(ours.map(abs).max() ?? 0), onnx.nodeCount)
    }

    // size: one benchmark read top to bottom — export, parity, interleaved latencies, then the tables it reports
    static func run(_ options: BenchOptions) throws {
        var report = Report(name: "export", options: options)
        try Runtime.setThreadCount(options.threads)
        let ort = try PythonWorker(python: Repo.referencePython, threads: options.threads, script: Repo.ortWorkerScript)
        defer { ort.close() }
        let ortVersion = try ort.info()["onnxruntime"] as? String ?? "?"
        print("export: libtorch \(Runtime.version) from Swift and ONNX Runtime \(ortVersion), \(options.threads) threads each; \(cpuName()); load \(loadAverage())")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-bench-export-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        let models = [false: try model(collapsed: false), true: try model(collapsed: true)]
        var paths: [Bool: String] = [:], macs: [Bool: Int] = [:], nodes: [Bool: Int] = [:]
        var maxDiff = 0.0
        for collapsed in [false, true] {
            let m = models[collapsed]!
            let onnx = try ONNXExporter.export(m, sampleShape: sample)
            let url = folder.appendingPathComponent(collapsed ? "collapsed.onnx" : "full.onnx")
            try onnx.write(to: url)
            paths[collapsed] = url.path
            macs[collapsed] = onnx.macs
            nodes[collapsed] = onnx.nodeCount
            maxDiff = max(maxDiff, try parity(m, sample: sample, batch: 128, ort: ort, folder: folder).diff)
        }
        let macsRatio = Double(macs[false]!) / Double(macs[true]!)

        // torchvision's sizes: every family at 224×224 (ViT-B/16, Swin-T, ResNet-50, MobileNetV2), full and collapsed
        var sizes = Table(["model at 224×224, 1000 classes", "removed", "ONNX nodes", "max abs diff, ORT vs lacoot", "largest logit"])
        if !options.quick {
            for (architecture, block) in largeModels {
                for collapsed in [false, true] {
                    let m = try architecture.build(generator: Generator(seed: 2))
                    try withNoGrad {   // zero-initialized heads would give all-zero logits
                        for tensor in m.parameterTensors() where try tensor.abs().amax().item() == 0 {
                            try tensor.normal_(std: 0.02, generator: Generator(seed: 4))
                        }
                    }
                    if collapsed { try m.collapse(block) }
                    m.eval()
                    let (diff, scale, nodeCount) = try parity(m, sample: [3, 224, 224], batch: 2, ort: ort, folder: folder)
                    maxDiff = max(maxDiff, diff)
                    sizes.add([architecture.label, collapsed ? block : "", String(nodeCount), String(format: "%.2e", diff),
                               fmt(scale, 2)])
                }
            }
            report.add("Parity at torchvision's sizes (random weights, batch 2, dynamic-batch export)", sizes)
        }

        let rounds = options.rounds ?? (options.quick ? 2 : 5)
        var latency: [String: Double] = [:]
        for (b, perRound) in [(1, options.quick ? 10 : 30), (128, options.quick ? 2 : 4)] {
            print("latency at batch \(b): \(rounds) rounds × \(perRound) runs per side …")
            var sides: [Side] = []
            for collapsed in [false, true] {
                let tag = "b\(b)\(collapsed ? "-c" : "")"
                let m = models[collapsed]!
                let x = try Tensor.randn([b] + sample, generator: Generator(seed: 1))
                sides.append(Side(name: "lacoot-\(tag)") { reps, warmup in
                    try timeReps(reps: reps, warmup: warmup) { try withNoGrad { _ = try m(x) } }
                })
                sides.append(Side(name: "ort-\(tag)") { reps, warmup in
                    try ort.seconds(["cmd": "latency", "model": paths[collapsed]!, "batch": b, "shape": sample,
                                     "reps": reps, "warmup": warmup])
                })
            }
            let measured = try interleaved(rounds: rounds, perRound: perRound, warmup: 2, sides: sides)
            latency.merge(measured.mapValues(median)) { a, _ in a }
        }

        func ms(_ key: String) -> String { fmt((latency[key] ?? .nan) * 1e3, 2) + " ms" }
        func ratio(_ a: String, _ b: String) -> Double { (latency[a] ?? .nan) / (latency[b] ?? .nan) }
        var t = Table(["eval latency (median)", "ONNX Runtime", "lacoot", "ORT speed vs lacoot",
                       "ORT collapsed speed-up", "lacoot collapsed speed-up"])
        for b in [1, 128] {
            for collapsed in [false, true] {
                let tag = "b\(b)\(collapsed ? "-c" : "")"
                t.add(["batch \(b), " + (collapsed ? "4 blocks removed" : "full"), ms("ort-\(tag)"), ms("lacoot-\(tag)"),
                       fmt(ratio("lacoot-\(tag)", "ort-\(tag)"), 3),
                       collapsed ? fmt(ratio("ort-b\(b)", "ort-\(tag)"), 3) : "",
                       collapsed ? fmt(ratio("lacoot-b\(b)", "lacoot-\(tag)"), 3) : ""])
            }
        }
        report.add("ResNet-18 (CIFAR stem, width 64, 1×32×32), \(options.threads) threads, \(cpuName())", t)
        var m = Table(["model", "MACs (one image)", "ONNX nodes"])
        m.add(["full", fmt(Double(macs[false]!) / 1e6, 2) + " M", String(nodes[false]!)])
        m.add(["without " + removed.joined(separator: ", "), fmt(Double(macs[true]!) / 1e6, 2) + " M", String(nodes[true]!)])
        report.add("MACs (ratio \(fmt(macsRatio, 3))); max abs diff, ONNX Runtime vs lacoot, over 128 images × 10 logits, both models: \(String(format: "%.2e", maxDiff))", m)
        let speedupB1 = ratio("ort-b1", "ort-b1-c"), speedupB128 = ratio("ort-b128", "ort-b128-c")
        report.notes.append("target: the collapsed speed-up in ONNX Runtime ≥ 0.9 × the MACs ratio = \(fmt(0.9 * macsRatio, 3)): "
                            + "batch 1 \(fmt(speedupB1, 3)) (\(speedupB1 >= 0.9 * macsRatio ? "met" : "missed")), "
                            + "batch 128 \(fmt(speedupB128, 3)) (\(speedupB128 >= 0.9 * macsRatio ? "met" : "missed"))")
        report.meaning = [
            "Both sides run the same weights: the ONNX files are lacoot's export of these very models (BatchNorm folded into the convolutions; removed blocks absent from the graph). ONNX Runtime runs with all graph optimizations and as many intra-op threads as lacoot; \"ORT speed vs lacoot\" is lacoot's latency over ONNX Runtime's (above 1: ONNX Runtime is faster).",
        ]
        try report.finish(json: [
            ("bench", .string("export")),
            ("ort_collapsed_speedup_b1", .number(speedupB1, digits: 3)),
            ("ort_collapsed_speedup_b128", .number(speedupB128, digits: 3)),
            ("macs_ratio", .number(macsRatio, digits: 3)),
            ("ort_vs_lacoot_b1", .number(ratio("lacoot-b1", "ort-b1"), digits: 3)),
            ("ort_vs_lacoot_b128", .number(ratio("lacoot-b128", "ort-b128"), digits: 3)),
            ("max_abs_diff", .scientific(maxDiff, digits: 3)),
            ("cpu", .string(cpuName())),
        ])
    }
}

extension ExportBench: Benchmark {
    static let name = "export"
    static let summary = "ONNX export: ONNX Runtime latency of the full and collapsed ResNet-18 vs lacoot"
    static let abstract = "The demo's ResNet-18 exported to ONNX, full and collapsed: ONNX Runtime latency (batch 1 and 128) against lacoot's, and their logits."
    static let details = """
        JSON keys: ort_collapsed_speedup_b1, ort_collapsed_speedup_b128 (ONNX Runtime's full over \
        collapsed latency), macs_ratio, ort_vs_lacoot_b1, ort_vs_lacoot_b128 (lacoot's latency over \
        ONNX Runtime's, full model), max_abs_diff (ONNX Runtime against lacoot, both models), cpu. \
        --rounds counts interleaved rounds (default 5).
        """
}
