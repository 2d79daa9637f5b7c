import Datasets
import Foundation
import LaCoOT
import LacootRecords
import LacootReport
import LacootSupport
import Models
import NN
import Torch

/// The demo: one model trained with λ > 0 and one with λ = 0 on the same data, seed and
/// budget; both collapsed block by block (LaCoOT's ranking, a random order, and for λ = 0
/// the reference's deepest-first order) with no finetuning; a report compares the curves.
/// With more arms it is a λ sweep (e.g. λ ∈ {0, 0.5, 1, 2, 5} plus a ramped λ).
public struct Demo {
    /// One model to train: its λ, the epochs over which λ ramps up from 0, and what the
    /// distance compares each block's input with.
    public struct Arm: Sendable, Equatable {
        public var lambda: Double
        public var warmupEpochs: Double
        public var tap: FeatureTap
        public init(lambda: Double, warmupEpochs: Double = 0, tap: FeatureTap = .output) {
            self.lambda = lambda
            self.warmupEpochs = warmupEpochs
            self.tap = tap
        }
        var name: String {
            "lambda-\(Demo.format(lambda))" + (warmupEpochs > 0 ? "-ramp\(Demo.format(warmupEpochs))" : "")
                + (tap != .output && lambda > 0 ? "-\(tap.rawValue)" : "")
        }
        var label: String {
            "λ=\(Demo.format(lambda))" + (warmupEpochs > 0 ? " (ramp \(Demo.format(warmupEpochs)) ep)" : "")
                + (tap != .output && lambda > 0 ? " \(tap.rawValue) tap" : "")
        }
    }

    /// The networks the demo trains: the registered models with demo settings
    /// (``ModelVariant/demo``), in `--help` order — ResNet-18 with the CIFAR stem at `width`
    /// (the paper's CNN, SGD), the small ViT and torchvision's Swin-T (from scratch, the
    /// transformer recipe).
    public static var networks: [ModelChoice] { ModelRegistry.choices.filter { $0.variant.demo != nil } }

    public struct Options: Sendable {
        public var outputDirectory = "runs/demo"
        /// One of ``Demo/networks``.
        public var network: ModelChoice = .resnet18
        /// The models to train (default: λ = 1 and the λ = 0 baseline).
        public var arms: [Arm] = [Arm(lambda: 1), Arm(lambda: 0)]
        public var epochs = 5
        public var width = 16
        public var batchSize = 128
        public var learningRate = 0.1
        public var distance: DistanceMode = .reference
        public var seed: UInt64 = 0
        public var dataset = "fashion-mnist"
        /// The training augmentation (Fashion-MNIST's default: crop with padding 4, and flip).
        public var augmentation = Augmentation.default(for: .fashionMNIST)
        public var dataDirectory: String? = nil
        public var trainLimit: Int? = nil
        public var testLimit: Int? = nil
        public var maxAccuracyDrop = 1.0
        /// Time each removal's latency (about a second each); off for smoke runs.
        public var measureLatency = true
        public var showProgress = true
        /// NHWC layout (the default: faster convolutions on oneDNN).
        public var channelsLast = true
        /// fp32, or bf16 mixed precision for training and evaluation.
        public var precision: Precision = .fp32
        public var device: Device = .cpu
        /// Replace the runs of an earlier demo in `outputDirectory` (otherwise that is an error).
        public var replaceExisting = false
        /// Stops training at the next step (with a checkpoint) once cancelled.
        public var cancellation: CancellationToken? = nil

        public init() {}

        /// A short run (about a minute): 1 epoch on the network's quick limits (ResNet-18: 12,000
        /// training images, 2,000 test images; the transformers: 2,000 and 500).
        public mutating func makeQuick() {
            epochs = 1
            guard let demo = network.variant.demo else { return }
            trainLimit = demo.quickTrainLimit
            testLimit = demo.quickTestLimit
        }

        /// The network's own budget (``ModelVariant/DemoSettings``): ResNet-18's is the default
        /// (5 epochs on every image); the transformers' (the Swin-T demo: 18 minutes here) is 3
        /// epochs on the first 6,000 training images (5,400 after the validation split), 1,000
        /// test images.
        public mutating func makeNetworkBudget() {
            guard let demo = network.variant.demo else { return }
            epochs = demo.epochs
            trainLimit = demo.trainLimit
            testLimit = demo.testLimit
        }
    }

    public struct Result: Encodable, Sendable {
        public var report: String
        public var reportMarkdown: String
        public var reportJSON: String
        public var collapsedModel: String?
        public var runs: [RunResult]
        public var summary: [String]

        enum CodingKeys: String, CodingKey {
            case report, runs, summary
            case reportMarkdown = "report_markdown"
            case reportJSON = "report_json"
            case collapsedModel = "collapsed_model"
        }
    }

    public var options: Options
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(options: Options) { self.options = options }

    public func run() throws -> Result {
        let o = options
        let out = RunFolder(o.outputDirectory)
        let lock = try RunLock.acquire(out)
        defer { withExtendedLifetime(lock) {} }
        try clearEarlierRuns(in: out)
        var dataConfig = DataConfig()
        dataConfig.dataset = o.dataset
        dataConfig.directory = o.dataDirectory
        dataConfig.trainLimit = o.trainLimit
        dataConfig.testLimit = o.testLimit
        dataConfig.splitSeed = o.seed
        let data = try PreparedData.prepare(dataConfig)
        log("data: \(data.label)")
        let architecture = try Self.architecture(o.network, width: o.width, classCount: data.train.classCount,
                                                 inputChannels: data.train.channels)
        log("model: \(architecture.label)")

        var runs: [RunResult] = []
        var collapsedPath: String?
        for arm in o.arms {
            let training = trainingConfig(for: arm)
            // what every arm shares: the λ = 0 arm's summary without λ (each arm's λ and tap are in its label)
            let shared = trainingConfig(for: Arm(lambda: 0))
            let budget = shared.summary.replacingOccurrences(of: ", " + shared.lambdaSchedule.description, with: "")
            let folder = RunFolder(url: out.url.appendingPathComponent(arm.name))
            let runConfig = RunConfig(model: architecture, data: dataConfig, training: training, threads: Runtime.threadCount)
            let (model, history) = try train(runConfig, data: data, in: folder)

            let distances = try Evaluation.blockDistances(of: model, on: data.validation, normalization: data.normalization,
                                                          distance: training.slicedWasserstein, tap: arm.tap,
                                                          seed: o.seed, batchSize: o.batchSize)
            let provenance = try ScoresFile.Provenance(distance: training.slicedWasserstein, tap: arm.tap, seed: o.seed,
                                                       folder: folder)
            try ScoresFile(provenance: provenance, scores: distances).write(to: folder)
            log("validation distances (λ = \(arm.lambda)): "
                + distances.map { String(format: "%@ %.4f", $0.block, $0.distance) }.joined(separator: ", "))
            runs += try curves(of: model, arm: arm, distances: distances, history: history, data: data)
            if arm.lambda > 0, collapsedPath == nil {
                collapsedPath = try saveCollapsed(model, distances: distances, distance: training.slicedWasserstein,
                                                  data: data, in: folder)
            }
            // after each model, so a long sweep shows its progress and keeps what it finished if stopped
            try writeReport(runs: runs, architecture: architecture, data: data, budget: budget, to: out)
        }

        return Result(report: out.reportHTMLURL.path, reportMarkdown: out.reportMarkdownURL.path,
                      reportJSON: out.reportJSONURL.path, collapsedModel: collapsedPath, runs: runs,
                      summary: Self.summary(runs, reportPath: out.reportHTMLURL.path))
    }

    /// The model the demo trains (its variant's ``ModelVariant/DemoSettings``); a network the
    /// demo does not offer is an error naming it.
    public static func architecture(_ network: ModelChoice, width: Int, classCount: Int,
                                    inputChannels: Int) throws -> ModelArchitecture {
        guard let demo = network.variant.demo else {
            throw DemoError.notADemoNetwork(network.rawValue, networks: networks.map(\.rawValue))
        }
        return demo.architecture(width: width, classCount: classCount, inputChannels: inputChannels)
    }

    /// An earlier demo's report or run folders in `out` are an error, or removed with
    /// ``Options/replaceExisting``.
    func clearEarlierRuns(in out: RunFolder) throws {
        let earlier = options.arms.map { RunFolder(url: out.url.appendingPathComponent($0.name)) }
            .filter { FileManager.default.fileExists(atPath: $0.url.path) }
        let report = FileManager.default.fileExists(atPath: out.reportJSONURL.path)
        guard report || !earlier.isEmpty else { return }
        guard options.replaceExisting else { throw DemoError.earlierRuns(folder: out.url.path) }
        for folder in earlier { try FileManager.default.removeItem(at: folder.url) }
        for file in [out.reportJSONURL, out.reportMarkdownURL, out.reportHTMLURL] { try? FileManager.default.removeItem(at: file) }
    }

    /// The training configuration of one arm: the demo's budget with the arm's λ and tap
    /// (convolutional networks: SGD at the demo's learning rate, cosine; transformers: the
    /// transformer recipe).
    func trainingConfig(for arm: Arm) -> TrainingConfig {
        var training = TrainingConfig()
        training.epochs = options.epochs
        training.batchSize = options.batchSize
        if options.network.family.style == .convolutional {
            training.optimizer.learningRate = options.learningRate
            training.schedule.kind = .cosine
        } else {
            training = Recipe.transformer.applied(to: training)
        }
        training.regularizer.tap = arm.tap
        training.regularizer.lambda = arm.lambda
        training.regularizer.lambdaWarmupEpochs = arm.lambda > 0 ? arm.warmupEpochs : 0
        training.regularizer.distance = options.distance
        training.seed = options.seed
        training.augmentation = options.augmentation
        training.execution.channelsLast = options.channelsLast
        training.execution.precision = options.precision
        return training
    }

    /// Trains one arm's model in its own run folder.
    func train(_ runConfig: RunConfig, data: PreparedData, in folder: RunFolder) throws
        -> (model: any CollapsibleModel, history: [EpochMetrics]) {
        let session = try RunSession.create(folder, config: runConfig, data: data, log: log)
        log("training with \(runConfig.training.lambdaSchedule) for \(runConfig.training.epochs) epoch(s) → \(folder.url.path)")
        session.showProgress = options.showProgress
        session.cancellation = options.cancellation
        let history = try session.train(device: options.device)
        return (session.network, history)
    }

    /// The removal curves of one trained model: LaCoOT's ranking and a random order, and for
    /// λ = 0 also the reference's deepest-first order. Each on a fresh copy of the model.
    func curves(of model: any CollapsibleModel, arm: Arm, distances: [BlockDistance], history: [EpochMetrics],
                data: PreparedData) throws -> [RunResult] {
        let o = options
        let lambda = arm.lambda
        let orders: [RemovalOrder] = lambda > 0 ? [.ranked, .random] : [.ranked, .random, .deepestFirst]
        var full: ModelMeasurement?
        var runs: [RunResult] = []
        for order in orders {
            let copy = try Collapser.copy(of: model)
            let collapser = Collapser(model: copy, normalization: data.normalization,
                                      distance: trainingConfig(for: arm).slicedWasserstein, seed: o.seed)
            collapser.precision = o.precision
            collapser.measureLatency = o.measureLatency
            let measured = try full ?? collapser.measure(on: data.test)
            full = measured
            let arranged = try order.arrange(copy.activeBlockNames, distances: distances, seed: o.seed)
            let curve = try collapser.curve(order: arranged, test: data.test) { step in
                log(String(format: "  λ = %g, %@: removed %@ → test accuracy %.2f %%, %.2f M MACs", lambda,
                           order.rawValue, step.removed.joined(separator: ", "), step.accuracy, Double(step.macs) / 1e6))
            }
            runs.append(RunResult(label: "\(arm.label), \(order.rawValue)", lambda: lambda, order: order, full: measured,
                                  curve: curve, distances: distances, training: history))
        }
        return runs
    }

    /// The deployable result: a copy of `model` with blocks removed in ranked order within the
    /// accuracy budget, saved in `folder`. Returns the manifest's path.
    func saveCollapsed(_ model: any CollapsibleModel, distances: [BlockDistance], distance: SlicedWasserstein,
                       data: PreparedData, in folder: RunFolder) throws -> String {
        let o = options
        let copy = try Collapser.copy(of: model)
        let collapser = Collapser(model: copy, normalization: data.normalization, distance: distance, seed: o.seed)
        collapser.measureLatency = false
        collapser.precision = o.precision
        let outcome = try collapser.collapse(policy: .maxAccuracyDrop(o.maxAccuracyDrop), order: .ranked,
                                             validation: data.validation, test: data.test, distances: distances)
        let url = try CollapsedModel.save(copy, normalization: data.normalization, classNames: data.classNames,
                                          to: folder.collapsedManifestURL)
        log("collapsed within \(Self.format(o.maxAccuracyDrop)) point(s) of validation accuracy: "
            + (outcome.removed.isEmpty ? "no block" : outcome.removed.joined(separator: ", ")) + " → \(url.path)")
        return url.path
    }

    /// Writes the report (JSON, Markdown, HTML) of the runs so far.
    func writeReport(runs: [RunResult], architecture: ModelArchitecture, data: PreparedData, budget: String,
                     to out: RunFolder) throws {
        try out.writeReport(.madeNow(title: "LaCoOT demo: \(architecture.label) on \(options.dataset)",
                                     model: architecture.label, dataset: data.label, budget: budget,
                                     distanceMode: "\(options.distance.rawValue) max-sliced Wasserstein, K = 50, p = 2",
                                     runs: runs, notes: Self.notes(runs)))
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() && x.magnitude < 1e15 ? String(Int(x)) : String(x)
    }

    /// Five lines: what each model keeps when its blocks go, and where the report is.
    static func summary(_ runs: [RunResult], reportPath: String) -> [String] {
        var lines: [String] = []
        for run in runs where run.order == .ranked || run.order == .random {
            guard let last = run.curve.last else { continue }
            lines.append(String(format: "%@: %.2f %% full → %.2f %% with %d blocks removed (%.2f → %.2f M MACs)",
                                run.label, run.full.accuracy, last.accuracy, last.removed.count,
                                Double(run.full.macs) / 1e6, Double(last.macs) / 1e6))
        }
        lines.append("report: \(reportPath)")
        return lines
    }

    /// The comparison the paper's claim rests on, in words.
    static func notes(_ runs: [RunResult]) -> [String] {
        let regularized = runs.filter { $0.lambda > 0 && $0.order == .ranked }
        let baseline = runs.first { $0.lambda == 0 && $0.order == .ranked }
        var notes: [String] = []
        if let base = baseline, let lastBase = base.curve.last {
            notes.append(String(format: "λ = 0 model: %.2f %% full, %.2f %% with all %d blocks removed (%.2f points lost).",
                                base.full.accuracy, lastBase.accuracy, lastBase.removed.count,
                                base.full.accuracy - lastBase.accuracy))
            for run in regularized {
                guard let last = run.curve.last else { continue }
                notes.append(String(format: "%@ model: %.2f %% full, %.2f %% with all %d blocks removed; "
                                    + "gap to the full λ = 0 model: %.2f points.", run.label, run.full.accuracy,
                                    last.accuracy, last.removed.count, base.full.accuracy - last.accuracy))
            }
        }
        notes.append("Accuracies are on the test set, after collapsing with no finetuning and no BatchNorm recalibration.")
        return notes
    }
}

/// Why the demo did not start.
public enum DemoError: Error, CustomStringConvertible, Equatable {
    case earlierRuns(folder: String)
    /// A model the demo does not train (its variant has no demo settings).
    case notADemoNetwork(String, networks: [String])

    public var description: String {
        switch self {
        case let .earlierRuns(folder):
            return "\(folder) holds an earlier demo's runs; --force replaces them, or choose another --out"
        case let .notADemoNetwork(name, networks):
            return "the demo does not train \(name); --model takes \(networks.joined(separator: ", "))"
        }
    }
}
