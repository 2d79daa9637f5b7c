import Foundation

/// Issue 25: what `lacoot compress` costs over a plain `lacoot train` of the same epochs —
/// the real commands, run as a user runs them (release build, each in its own process, the
/// same data, model, seed and epochs), interleaved, wall time from start to exit. compress
/// adds the adaptive λ over every block, the selection, the removals within the accuracy
/// budget, BatchNorm re-estimation and its report.
enum CompressBench {
    /// One budget: the training images (nil = all of Fashion-MNIST's 54,000) and epochs.
    struct Budget {
        let label: String
        let trainImages: Int?
        let epochs: Int
    }

    static func run(_ options: BenchOptions) throws {
        var report = Report(name: "compress", options: options)
        let lacoot = Repo.root.appendingPathComponent(".build-release/release/lacoot")
        guard FileManager.default.isExecutableFile(atPath: lacoot.path) else {
            throw BenchError("no \(lacoot.path): scripts/bench compress builds it (swift build -c release --product lacoot)")
        }
        let small = Budget(label: "6,000 images, 2 epochs", trainImages: 6_000, epochs: 2)
        let usual = Budget(label: "all 54,000 images, 3 epochs", trainImages: nil, epochs: 3)
        let budgets = options.quick ? [small] : [usual, small]
        print("compress: ResNet-18 width 16, Fashion-MNIST, \(options.threads) threads; \(cpuName()); load \(loadAverage())")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-bench-compress-\(getpid())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let rounds = options.rounds ?? 1
        var runs = 0
        var t = Table(["budget (same data, model, seed, epochs)", "lacoot train", "lacoot compress", "compress ÷ train"])
        var ratios: [Double] = [], times: [(Double, Double)] = []
        for budget in budgets {
            let flags = ["--dataset", "fashion-mnist", "--test-limit", "2000", "--width", "16", "--epochs", String(budget.epochs),
                         "--seed", "0", "--threads", String(options.threads)]
                + (budget.trainImages.map { ["--train-limit", String($0)] } ?? [])
            func command(_ name: String) -> Side {
                Side(name: name) { reps, _ in
                    try (0..<reps).map { _ in
                        runs += 1
                        let folder = scratch.appendingPathComponent("\(name)-\(runs)")
                        defer { try? FileManager.default.removeItem(at: folder) }
                        let start = now()
                        try runLacoot(lacoot, [name, "--run-dir", folder.path] + flags)
                        return now() - start
                    }
                }
            }
            print("\(budget.label): \(rounds) interleaved pair(s) of runs …")
            let measured = try interleaved(rounds: rounds, perRound: 1, warmup: 0, sides: [command("train"), command("compress")])
            let train = median(measured["train"] ?? []), compress = median(measured["compress"] ?? [])
            t.add([budget.label, fmt(train, 1) + " s", fmt(compress, 1) + " s", fmt(compress / train, 3)])
            ratios.append(compress / train)
            times.append((train, compress))
        }
        report.add("Whole commands (ResNet-18 width 16, default flags: train λ = 1, compress to half the MACs), medians of \(rounds) interleaved run(s) each, \(cpuName())", t)
        let ratio = ratios[0]
        report.notes.append("target: compress_vs_train_time ≤ 1.3 (\(budgets[0].label)) — \(fmt(ratio, 3)) (\(ratio <= 1.3 ? "met" : "missed"))")
        report.notes.append("compress's removals cost a fixed amount of forward passes whatever the budget (per block tried: the acceptance images twice, a BatchNorm re-estimation pass and the test set), so a short run pays more in proportion")
        try report.finish(json: [
            ("bench", .string("compress")),
            ("train_s", .number(times[0].0, digits: 1)),
            ("compress_s", .number(times[0].1, digits: 1)),
            ("compress_vs_train_time", .number(ratio, digits: 3)),
            ("compress_vs_train_time_small", .number(ratios.last!, digits: 3)),
            ("cpu", .string(cpuName())),
        ])
    }

    /// Runs the lacoot executable to completion; its output is discarded unless it fails.
    static func runLacoot(_ executable: URL, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let tail = String(decoding: message.suffix(600), as: UTF8.self)
            throw BenchError("lacoot \(arguments.prefix(1).joined()) exited \(process.terminationStatus): \(tail)")
        }
    }
}

extension CompressBench: Benchmark {
    static let name = "compress"
    static let summary = "lacoot compress wall time over lacoot train of the same epochs"
    static let abstract = "The whole lacoot compress command against lacoot train with the same data, model, seed and epochs, interleaved."
    static let details = """
        JSON keys: train_s, compress_s (median wall times, all of Fashion-MNIST, 3 epochs), \
        compress_vs_train_time (their ratio), compress_vs_train_time_small (6,000 images, 2 \
        epochs), cpu. --rounds counts interleaved pairs of runs per budget (default 1); \
        --quick: the small budget only.
        """
}
