import ArgumentParser
import Datasets
import Foundation
import LaCoOT
import LacootRecords
import LacootWorkflow
import Logging
import Models
import NN
import Optim
import Torch

extension DistanceMode: ExpressibleByArgument {}
extension RemovalOrder: ExpressibleByArgument {
    /// `given` is implied by naming the blocks, never chosen with `--order`.
    public init?(argument: String) {
        guard let order = RemovalOrder(rawValue: argument), RemovalOrder.choosable.contains(order) else { return nil }
        self = order
    }

    public static var allValueStrings: [String] { choosable.map(\.rawValue) }
}
extension TrainingConfig.OptimizerKind: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension FeatureTap: ExpressibleByArgument {}
extension WeightDecayScope: ExpressibleByArgument {}
extension Recipe: ExpressibleByArgument {}
extension ModelChoice: ExpressibleByArgument {
    /// The registry's models, in its order.
    public static var allValueStrings: [String] { ModelRegistry.choices.map(\.rawValue) }
}

/// `lacoot demo --model`: one of the networks the demo trains (``Demo/networks``).
struct DemoNetwork: ExpressibleByArgument {
    let choice: ModelChoice

    init(_ choice: ModelChoice) { self.choice = choice }

    init?(argument: String) {
        guard let choice = ModelChoice(rawValue: argument), choice.variant.demo != nil else { return nil }
        self.choice = choice
    }

    static var allValueStrings: [String] { Demo.networks.map(\.rawValue) }
    var defaultValueDescription: String { choice.rawValue }
}

/// Memory layouts the CLI offers.
enum Layout: String, ExpressibleByArgument, CaseIterable {
    case channelsLast = "channels-last"
    case nchw
}

/// Where and how the network computes: device, arithmetic, memory layout.
struct ExecutionOptions: ParsableArguments {
    @Option(name: .long, help: "fp32, or bf16 mixed precision: convolutions and matmuls in bfloat16; BatchNorm, softmax, losses and the LaCoOT distance in float32; weights, optimizer state and checkpoints float32.")
    var precision: Precision = .fp32

    @Option(name: .long, help: "auto (CUDA when this libtorch has it and a GPU is visible, else cpu), cpu, cuda or cuda:N.")
    var device = "auto"

    @Option(name: .long, help: "Activation and weight layout: channels-last (NHWC, faster on oneDNN) or nchw.")
    var layout: Layout = .channelsLast

    func validate() throws {
        guard Device.Request(device) != nil else {
            throw ValidationError("--device must be auto, cpu, cuda or cuda:N, got \"\(device)\"")
        }
    }

    /// The device named by `--device` (an error naming the flag when it is not available).
    func resolvedDevice() throws -> Device {
        do { return try Device.resolve(device) } catch let error as TorchError { throw ValidationError(error.message) }
    }

    /// The device, after printing the precision's warning for it (emulated bf16) on stderr.
    func prepare() throws -> Device {
        let resolved = try resolvedDevice()
        if let warning = precision.warning(on: resolved) { printError("warning: " + warning) }
        return resolved
    }
}
extension TrainingConfig.ScheduleKind: ExpressibleByArgument {}

/// Range checks for numeric options: each error is one line naming the flag. Every numeric
/// option of every command goes through one of these in its `validate()`, so no value a user
/// can type reaches an arithmetic trap further down.
enum Bounds {
    static let threads = 1...1024
    static let epochs = 1...100_000
    static let imageSide = 1...4096
    static let batchSize = 1...65_536
    static let width = 1...4096
    static let limit = 1...1_000_000_000
    static let lambda = 0.0...1e6
    static let projections = 1...100_000
    static let ascentSteps = 0...100_000

    static func check(_ value: Int?, _ flag: String, in range: ClosedRange<Int>) throws {
        if let value, !range.contains(value) {
            throw ValidationError("--\(flag) must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
    }

    /// `value` must be finite and in `range`; with `exclusiveLower`, strictly above its lower bound.
    static func check(_ value: Double?, _ flag: String, in range: ClosedRange<Double>, exclusiveLower: Bool = false) throws {
        guard let value else { return }
        let aboveLower = exclusiveLower ? value > range.lowerBound : value >= range.lowerBound
        if !value.isFinite || !aboveLower || value > range.upperBound {
            let lower = exclusiveLower ? "(\(range.lowerBound)" : "[\(range.lowerBound)"
            throw ValidationError("--\(flag) must be a number in \(lower), \(range.upperBound)], got \(value)")
        }
    }
}

/// Threads, output format and verbosity, shared by every command.
struct RuntimeOptions: ParsableArguments {
    @Option(name: .long, help: "Intra-op threads (default: the number of active cores).")
    var threads: Int?

    @Flag(name: .long, help: "Print one JSON result object on stdout (logs stay on stderr).")
    var json = false

    @Flag(name: .long, help: "No progress lines; log errors only.")
    var quiet = false

    @Flag(name: .long, help: "Log details on stderr: data files read, checkpoints written, collapse decisions, engine.")
    var verbose = false

    func validate() throws {
        try Bounds.check(threads, "threads", in: Bounds.threads)
        if quiet, verbose { throw ValidationError("--quiet and --verbose exclude each other") }
    }

    /// The level of the libraries' logs: `notice` by default (stops, warnings), everything
    /// with `--verbose`, errors only with `--quiet`.
    var logLevel: Logger.Level { verbose ? .debug : quiet ? .error : .notice }

    /// Applies the thread count and sets up logging: one handler, on stderr, at ``logLevel``.
    func apply() throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        if let threads { try Runtime.setThreadCount(threads) }
        Logger(label: "lacoot.engine").info("\(Runtime.summary)", metadata: ["threads": "\(Runtime.threadCount)"])
    }

    var showProgress: Bool { !quiet }

    func log(_ line: String) { if !quiet || json { printError(line) } }
}

/// Which dataset and how it is split. Every flag is optional (its default filled in by
/// ``config(seed:)``), so that ``isGiven`` tells whether the user named data at all.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Dataset: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")). flowers102, dtd and aircraft read their official layouts (train = the official train split, test = the official test split; validation is carved from train by --val-fraction); pacs and vlcs read <domain>/<class>/ folders. (default: fashion-mnist)")
    var dataset: String?

    @Option(name: .customLong("data-dir"), help: "Folder with the dataset's files (default for fashion-mnist: Debian's /usr/share/datasets/fashion-mnist).")
    var dataDirectory: String?

    @Option(name: .customLong("val-fraction"), help: "Share of the training set held out for validation. (default: 0.1)")
    var validationFraction: Double?

    @Option(name: .customLong("pad-to"), help: "Zero-pad smaller images to this size (28×28 → 32×32 for the CIFAR stems; a model file or imported weights: their input size). (default: 32)")
    var padTo: Int?

    @Option(name: .customLong("image-size"), help: "Resize (shorter side) and center-crop images to this size (default for flowers102, dtd, aircraft, pacs, vlcs: 224, a model file or imported weights: their input size; a folder's images otherwise keep their common size).")
    var imageSize: Int?

    @Option(name: .customLong("split-index"), help: "dtd: which of its ten official splits, 1...10. (default: 1)")
    var splitIndex: Int?

    @Option(name: .customLong("target-domain"), help: "pacs, vlcs: hold this domain out as the test set and train on the others (default: all domains pooled, a seeded 80/10/10 split).")
    var targetDomain: String?

    @Option(name: .customLong("train-limit"), help: "Use only the first N training images (quick runs); where the files are grouped by class (image folders), N drawn at random (seeded), so every class is in them.")
    var trainLimit: Int?

    @Option(name: .customLong("test-limit"), help: "Use only the first N test images (drawn at random where grouped by class, as --train-limit).")
    var testLimit: Int?

    @Option(name: .customLong("max-image-pixels"), help: "Refuse an image whose header promises, or whose resize makes, more pixels than this (decompression bombs). (default: 67108864, 8192²)")
    var maxImagePixels: Int?

    func validate() throws {
        try Bounds.check(maxImagePixels, "max-image-pixels", in: 1...(1 << 32))
        guard DatasetKind(rawValue: datasetName) != nil else {
            throw ValidationError("unknown --dataset \"\(datasetName)\"; choose one of \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let validationFraction, !(validationFraction > 0 && validationFraction < 1) {
            throw ValidationError("--val-fraction must be in (0, 1), got \(validationFraction)")
        }
        try Bounds.check(trainLimit, "train-limit", in: 10...Bounds.limit.upperBound)
        try Bounds.check(testLimit, "test-limit", in: Bounds.limit)
        try Bounds.check(padTo, "pad-to", in: Bounds.imageSide)
        try Bounds.check(imageSize, "image-size", in: Bounds.imageSide)
        if splitIndex != nil, datasetName != DatasetKind.dtd.rawValue {
            throw ValidationError("--split-index applies to --dataset dtd only")
        }
        try Bounds.check(splitIndex, "split-index", in: 1...10)
        if targetDomain != nil, DatasetKind(rawValue: datasetName)?.hasDomains != true {
            throw ValidationError("--target-domain applies to --dataset pacs or vlcs only")
        }
    }

    /// `--dataset`, or the default.
    var datasetName: String { dataset ?? DataConfig().dataset }

    /// Whether any data flag was given.
    var isGiven: Bool {
        let values: [Any?] = [dataset, dataDirectory, validationFraction, padTo, imageSize, splitIndex, targetDomain,
                              trainLimit, testLimit, maxImagePixels]
        return values.contains { $0 != nil }
    }

    /// The data configuration, defaults filled in; with `forModelFile`, `padTo` and
    /// `imageSize` stay nil unless given (``ModelInput`` sets them to the model's size).
    func config(seed: UInt64, forModelFile: Bool = false) -> DataConfig {
        var c = DataConfig()
        c.dataset = datasetName
        c.directory = dataDirectory
        c.validationFraction = validationFraction ?? c.validationFraction
        c.padTo = forModelFile ? padTo : padTo ?? c.padTo
        c.imageSize = imageSize
        c.splitIndex = splitIndex
        c.targetDomain = targetDomain
        c.trainLimit = trainLimit
        c.testLimit = testLimit
        c.maxImagePixels = maxImagePixels
        c.splitSeed = seed
        return c
    }
}

/// The architecture.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model: \(ModelChoice.allValueStrings.joined(separator: ", ")).")
    var model: ModelChoice = .resnet18

    @Option(name: .long, help: "ResNet base channels (64 = the paper's ResNet-18; 16 for cheap runs); ViT token width (vit: 192).")
    var width: Int?

    @Option(name: .customLong("patch-size"), help: "ViT patch size (vit: 4); divides the image size.")
    var patchSize: Int?

    @Option(name: .long, help: "ViT encoder layers, each a collapsible block (vit: 8).")
    var depth: Int?

    @Option(name: .long, help: "ViT attention heads (vit: 3); divide --width.")
    var heads: Int?

    @Option(name: .customLong("mlp-dim"), help: "ViT MLP hidden size (vit: 768).")
    var mlpDim: Int?

    @Option(name: .customLong("width-multiplier"), help: "MobileNetV2 width multiplier.")
    var widthMultiplier = 1.0

    @Flag(name: .customLong("imagenet-stem"), help: "Use the ImageNet stem (7×7 stride 2 + max-pool) instead of the CIFAR one.")
    var imageNetStem = false

    func validate() throws {
        try Bounds.check(width, "width", in: Bounds.width)
        try Bounds.check(widthMultiplier, "width-multiplier", in: 0...16, exclusiveLower: true)
        let vitFlags = [("patch-size", patchSize, Bounds.imageSide), ("depth", depth, 1...1024), ("heads", heads, Bounds.width),
                        ("mlp-dim", mlpDim, 1...65_536)]
        let sized = ModelRegistry.names { $0.variant.sizing == .transformer }.joined(separator: " or ")
        for (flag, value, range) in vitFlags where value != nil {
            guard model.variant.sizing == .transformer else {
                let fixed = ModelRegistry.names { $0.variant.sizing == .fixed }.joined(separator: " and ")
                throw ValidationError("--\(flag) sizes the small ViT: use it with --model \(sized) (\(fixed) have torchvision's fixed sizes)")
            }
            try Bounds.check(value, flag, in: range)
        }
        if model.variant.sizing == .fixed, width != nil {
            throw ValidationError("--width does not apply to \(model.rawValue) (torchvision's fixed size); use --model \(sized) to choose the size")
        }
    }

    /// The architecture for the data: class and channel counts, and the image size (a ViT's
    /// position table follows it).
    func architecture(classCount: Int, inputChannels: Int, imageSize: Int) -> ModelArchitecture {
        var request = sizes
        request.classCount = classCount
        request.inputChannels = inputChannels
        request.imageSize = imageSize
        return model.architecture(request)
    }

    /// The size flags (the class and channel counts and the image size come from the data).
    var sizes: ModelVariant.Request {
        var request = ModelVariant.Request(classCount: 0, inputChannels: 0, imageSize: 0)
        request.width = width
        request.widthMultiplier = widthMultiplier
        request.imageNetStem = imageNetStem
        request.patchSize = patchSize
        request.depth = depth
        request.heads = heads
        request.mlpDim = mlpDim
        return request
    }
}

/// The distance used by the regularizer and for scoring.
struct DistanceOptions: ParsableArguments {
    @Option(name: .long, help: "Distance: reference (POT's max-sliced, best of K random directions), optimized (ascent on the sphere from the best direction), sliced (mean over K).")
    var distance: DistanceMode = .reference

    @Option(name: .long, help: "Random directions K.")
    var projections = 50

    @Option(name: .long, help: "Ascent steps of the optimized distance.")
    var ascentSteps = 5

    @Option(name: .long, help: "Compare each block's input with its output (the paper) or, for transformers, with its MLP branch before the residual add (mlp-branch, the reference code's Swin-T hooks). (default: output; score and collapse: the run's)")
    var tap: FeatureTap?

    func validate() throws {
        try Bounds.check(projections, "projections", in: Bounds.projections)
        try Bounds.check(ascentSteps, "ascent-steps", in: Bounds.ascentSteps)
    }

    var value: SlicedWasserstein {
        SlicedWasserstein(mode: distance, projectionCount: projections, ascentSteps: ascentSteps)
    }

    /// `--tap mlp-branch` only for models whose blocks have an MLP branch (a usage error
    /// otherwise): the family of the run in `runDirectory` (``ModelOptions/family(forRunIn:)``).
    func checkTap(for model: ModelOptions, runIn runDirectory: String) throws {
        let family = model.family(forRunIn: runDirectory)
        if tap == .mlpBranch, !family.hasMLPBranches {
            let name = family.name == model.model.family.name ? model.model.rawValue : family.name
            let transformers = ModelRegistry.names { $0.family.hasMLPBranches }.joined(separator: ", ")
            throw ValidationError("--tap mlp-branch needs a transformer (\(transformers)); \(name) blocks have no MLP branch")
        }
    }
}

/// Formats MACs in millions.
func mega(_ x: Int) -> String { String(format: "%.2f M", Double(x) / 1e6) }
