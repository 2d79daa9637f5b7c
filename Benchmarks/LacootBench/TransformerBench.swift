import Foundation
import LacootWorkflow
import Models
import NN
import Torch

/// Issue 11: Swin-T and the small ViT at 32×32 — a LaCoOT training step (transformer recipe,
/// λ = 1 over every block) and eval latency at batch 1 and 128, full and with four blocks
/// removed — in Swift and with torchvision's models + POT on PyTorch, interleaved.
enum TransformerBench {
    /// The blocks removed for the collapsed figures: Swin-T's stage-3 blocks after its first two,
    /// the ViT's last four layers.
    static let removed: [ModelChoice: [String]] = [
        .swinT: (2...5).map { "features.5.\($0)" },
        .vit: (4...7).map { "encoder.layers.encoder_layer_\($0)" },
    ]

    static func model(_ network: ModelChoice) throws -> any CollapsibleModel {
        try Demo.architecture(network, width: 16, classCount: 10, inputChannels: 3).build(generator: Generator(seed: 0))
    }

    /// Our side of the training step: `Trainer.step` with the transformer recipe, λ = 1.
    static func trainSide(_ network: ModelChoice, batch: Int) -> Side {
        Side(name: "swift-\(network.rawValue)") { reps, warmup in
            var config = Recipe.transformer.applied(to: TrainingConfig())
            config.schedule.kind = .constant
            config.schedule.warmupEpochs = 0
            config.regularizer.lambda = 1
            config.batchSize = batch
            let trainer = try Trainer(model: try model(network), config: config, normalization: .unit(channels: 3))
            let g = try Generator(seed: 1)
            let x = try Tensor.randn([batch, 3, 32, 32], generator: g)
            let y = try Tensor.randint(low: 0, high: 10, shape: [batch], generator: g)
            return try timeReps(reps: reps, warmup: warmup) { _ = try trainer.step(images: x, labels: y, fractionalEpoch: 0) }
        }
    }

    static func latencySide(_ network: ModelChoice, batch: Int, collapsed: Bool) -> Side {
        Side(name: "swift-\(network.rawValue)-b\(batch)\(collapsed ? "-c" : "")") { reps, warmup in
            let m = try model(network)
            if collapsed { try m.collapse(removed[network]!) }
            m.eval()
            let x = try Tensor.randn([batch, 3, 32, 32], generator: Generator(seed: 1))
            return try timeReps(reps: reps, warmup: warmup) { try withNoGrad { _ = try m(x) } }
        }
    }

    // size: one benchmark read top to bottom — its interleaved measurements, then the tables it reports
    static func run(_ options: BenchOptions) throws {
        var report = Report(name: "transformer", options: options)
        try Runtime.setThreadCount(options.threads)
        let py = try PythonWorker(threads: options.threads)
        defer { py.close() }
        let pyTorch = try py.info()["torch"] as? String ?? "?"
        print("transformer: libtorch \(Runtime.version) from Swift (\(Runtime.threadCount) threads), PyTorch \(pyTorch) + torchvision; load \(loadAverage())")
        let batch = options.quick ? 32 : 128
        let rounds = options.rounds ?? (options.quick ? 2 : 4)
        let networks: [ModelChoice] = [.swinT, .vit]

        func pythonTrain(_ network: ModelChoice) -> Side {
            Side(name: "python-\(network.rawValue)") { reps, warmup in
                try py.seconds(["cmd": "transformer_step", "model": network.rawValue, "batch": batch, "lambda": 1,
                                "reps": reps, "warmup": warmup])
            }
        }
        func pythonLatency(_ network: ModelChoice, _ b: Int, collapsed: Bool) -> Side {
            Side(name: "python-\(network.rawValue)-b\(b)\(collapsed ? "-c" : "")") { reps, warmup in
                try py.seconds(["cmd": "transformer_latency", "model": network.rawValue, "batch": b,
                                "removed": collapsed ? removed[network]! : [String](), "reps": reps, "warmup": warmup])
            }
        }
        var train: [String: [Double]] = [:]
        for network in networks {
            print("\(network.rawValue): training steps (\(rounds) rounds × 2 steps per side) …")
            train.merge(try interleaved(rounds: rounds, perRound: 2, warmup: 1,
                                        sides: [trainSide(network, batch: batch), pythonTrain(network)])) { a, _ in a }
        }
        var latency: [String: Double] = [:]
        for network in networks {
            for (b, perRound) in [(1, 10), (128, 2)] {
                print("\(network.rawValue): latency at batch \(b) …")
                let sides = [false, true].flatMap { c in
                    [latencySide(network, batch: b, collapsed: c), pythonLatency(network, b, collapsed: c)]
                }
                let measured = try interleaved(rounds: rounds, perRound: perRound, warmup: 2, sides: sides)
                latency.merge(measured.mapValues(median)) { a, _ in a }
            }
        }

        func rate(_ key: String) -> Double { Double(batch) / median(train[key] ?? []) }
        var t = Table(["training step, 32×32, batch \(batch), λ = 1", "Swift img/s", "PyTorch img/s", "ratio"])
        for network in networks {
            let ours = rate("swift-\(network.rawValue)"), theirs = rate("python-\(network.rawValue)")
            t.add([network.rawValue, fmt(ours, 1), fmt(theirs, 1), fmt(ours / theirs, 3)])
        }
        report.add("Training step (forward with every block observed, label-smoothed cross-entropy + λ·mean MSW over all blocks, backward, clipping, AdamW), medians", t)

        var l = Table(["eval latency", "Swift", "PyTorch", "ratio (PyTorch / Swift)", "Swift collapsed", "speed-up"])
        var macsRatio: [ModelChoice: Double] = [:]
        for network in networks {
            let full = try model(network)
            let collapsed = try model(network)
            try collapsed.collapse(removed[network]!)
            macsRatio[network] = Double(try full.cost(height: 32).macs) / Double(try collapsed.cost(height: 32).macs)
            for b in [1, 128] {
                let k = "\(network.rawValue)-b\(b)"
                let ours = latency["swift-\(k)"] ?? .nan, theirs = latency["python-\(k)"] ?? .nan
                let oursCollapsed = latency["swift-\(k)-c"] ?? .nan
                l.add(["\(network.rawValue), batch \(b)", fmt(ours * 1e3, 2) + " ms", fmt(theirs * 1e3, 2) + " ms",
                       fmt(theirs / ours, 3), fmt(oursCollapsed * 1e3, 2) + " ms", fmt(ours / oursCollapsed, 3)])
            }
        }
        report.add("Inference latency (eval, no grad), medians; collapsed = 4 blocks removed (\(removed[.swinT]!.joined(separator: ", ")); ViT: \(removed[.vit]!.joined(separator: ", ")))", l)

        var m = Table(["MACs at 32×32 (aten convention, padded windows)", "full", "4 blocks removed", "ratio"])
        for network in networks {
            let full = try model(network).cost(height: 32).macs
            m.add([network.rawValue, fmt(Double(full) / 1e6, 1) + " M", fmt(Double(full) / macsRatio[network]! / 1e6, 1) + " M",
                   fmt(macsRatio[network]!, 3)])
        }
        report.add("MACs", m)
        report.meaning = [
            "Both sides train the same model (ours loads torchvision's weights unchanged) with the same recipe; the PyTorch side is torchvision's model with forward hooks on every block and POT's max-sliced distance (50 directions per block per step), as the reference code measures it.",
            "MACs follow torchvision's arithmetic, as PyTorch's flop counter reports it (tests check it): Swin's window attention on the map padded to whole 7×7 windows. Our forward skips the padded tokens' projections (exactly: a zero token's projection is the bias), so at 32×32 it executes fewer MACs than counted, mostly in the deep stages: time and counted MACs need not move together (at batch 1 fixed per-op costs dominate, and removing four blocks saves more time than the counted ratio).",
        ]
        let swinLatency = latency["swift-swin_t-b1"] ?? .nan
        try report.finish(json: [
            ("bench", .string("transformer")),
            ("swin_t_train_ratio", .number(rate("swift-swin_t") / rate("python-swin_t"), digits: 3)),
            ("vit_train_ratio", .number(rate("swift-vit") / rate("python-vit"), digits: 3)),
            ("swin_t_latency_b1_ratio", .number((latency["python-swin_t-b1"] ?? .nan) / swinLatency, digits: 3)),
            ("swin_t_collapsed_speedup_b1", .number(swinLatency / (latency["swift-swin_t-b1-c"] ?? .nan), digits: 3)),
            ("swin_t_macs_ratio", .number(macsRatio[.swinT]!, digits: 3)),
            ("vit_collapsed_speedup_b1", .number((latency["swift-vit-b1"] ?? .nan) / (latency["swift-vit-b1-c"] ?? .nan), digits: 3)),
            ("vit_macs_ratio", .number(macsRatio[.vit]!, digits: 3)),
        ])
    }
}

extension TransformerBench: Benchmark {
    static let name = "transformer"
    static let summary = "Swin-T and the small ViT: LaCoOT training step and latency vs torchvision + POT"
    static let abstract = "Swin-T and the small ViT at 32×32: training step and eval latency, full and collapsed, against torchvision + POT."
    static let details = """
        JSON keys: swin_t_train_ratio, vit_train_ratio (our images/s over PyTorch's), \
        swin_t_latency_b1_ratio (PyTorch's batch-1 latency over ours), swin_t_collapsed_speedup_b1 \
        (our full over our collapsed batch-1 latency), swin_t_macs_ratio, and the ViT's. --rounds counts \
        interleaved rounds (default 4).
        """
}

/// The two transformers the benchmark compares, by their registered names.
private extension ModelChoice {
    static let swinT = ModelChoice(rawValue: "swin_t")!
    static let vit = ModelChoice(rawValue: "vit")!
}
