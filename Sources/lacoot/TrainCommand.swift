import ArgumentParser
import Foundation
import LaCoOT
import LacootReport
import LacootSupport
import LacootWorkflow
import Models
import NN
import Torch

/// `lacoot train`: trains a model with the LaCoOT regularizer into a run folder.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model with cross-entropy + λ · mean block MSW into a run folder.",
        discussion: """
        Writes config.json, metrics.jsonl (one line per epoch) and checkpoint.safetensors (after every
        epoch, atomically) to --run-dir. Ctrl-C finishes the current step, writes a checkpoint and
        exits; --resume continues exactly where the run stopped.

        Example:
          lacoot train --run-dir runs/r18-l1 --width 16 --epochs 10 --lambda 1
          lacoot train --run-dir runs/r18-l1 --resume
        """
    )

    @Option(name: .customLong("run-dir"), help: "Folder for the run's files.")
    var runDirectory: String

    @Flag(name: .long, help: "Continue the run in --run-dir from its checkpoint (its config.json is used).")
    var resume = false

    @OptionGroup(title: "Data") var data: DataOptions
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Distance") var distance: DistanceOptions

    @Option(name: .long, help: """
        Training defaults: cnn (SGD lr 0.1, weight decay 1e-4, cosine, λ 5), transformer (AdamW lr 1e-3, \
        weight decay 0.05 on weights only, 1 warm-up epoch + cosine, label smoothing 0.1, clip 1, λ 0.1) or \
        swin-reference (the reference's Swin-T recipe: SGD lr 1e-3, steps at 50/75 % of the epochs, λ 0.1, \
        --tap mlp-branch). Default: transformer for vit, vit_b_16, swin_t; cnn otherwise. Flags override it.
        """)
    var recipe: Recipe?

    @Option(name: .long, help: "Regularizer weight λ (0 = plain training; the paper: 5). (default: the recipe's)")
    var lambda: Double?

    @Option(name: .customLong("lambda-warmup"), help: "Epochs over which λ ramps linearly from 0.")
    var lambdaWarmup = 0.0

    @Option(name: .long, parsing: .upToNextOption, help: "Regularize only these blocks (default: all collapsible blocks).")
    var blocks: [String] = []

    @Option(name: .long, help: "Epochs.") var epochs = 10
    @Option(name: .customLong("batch-size"), help: "Batch size.") var batchSize = 128
    @Option(name: .long, help: "Optimizer: sgd, adam (L2 weight decay) or adamw (decoupled). (default: the recipe's)")
    var optimizer: TrainingConfig.OptimizerKind?
    @Option(name: .long, help: "Learning rate. (default: the recipe's)") var lr: Double?
    @Option(name: .customLong("head-lr"), help: "The classifier's learning rate (fc, classifier.1, head, heads.head), e.g. 10 × --lr for a fresh head on imported weights. (default: --lr)")
    var headLR: Double?
    @Option(name: .long, parsing: .upToNextOption, help: "Freeze the parameters under these key prefixes (e.g. conv1 bn1 layer1).")
    var freeze: [String] = []
    @Option(name: .long, help: "SGD momentum.") var momentum = 0.9
    @Flag(name: .long, help: "Nesterov momentum.") var nesterov = false
    @Option(name: .customLong("weight-decay"), help: "Weight decay. (default: the recipe's)") var weightDecay: Double?
    @Option(name: .customLong("decay-scope"), help: "Parameters that decay: all, or weights (not biases, norms, position tables, class tokens). (default: the recipe's)")
    var decayScope: WeightDecayScope?
    @Option(name: .customLong("clip-grad-norm"), help: "Clip the gradients' global L2 norm to this value. (default: the recipe's)")
    var clipGradNorm: Double?
    @Flag(name: .customLong("no-clip"), help: "No gradient clipping, whatever the recipe.") var noClip = false
    @Option(name: .long, help: "Learning-rate schedule: constant, multistep, cosine. (default: the recipe's)")
    var schedule: TrainingConfig.ScheduleKind?
    @Option(name: .long, parsing: .upToNextOption, help: "Multi-step milestones in epochs (e.g. 80 120).")
    var milestones: [Int] = []
    @Option(name: .long, help: "Multi-step factor.") var gamma = 0.1
    @Option(name: .customLong("warmup-epochs"), help: "Epochs of linear learning-rate warm-up. (default: the recipe's)") var warmupEpochs: Int?
    @Option(name: .customLong("label-smoothing"), help: "Cross-entropy label smoothing. (default: the recipe's)") var labelSmoothing: Double?
    @Flag(name: .customLong("no-augment"), help: "No random crop / flip.") var noAugment = false
    @OptionGroup(title: "Execution") var execution: ExecutionOptions
    @Option(name: .customLong("max-batches"), help: "Stop each epoch after N batches (quick runs).") var maxBatches: Int?
    @Option(name: .long, help: "Seed of initialization, split, shuffling, augmentation and directions.") var seed: UInt64 = 0

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        try Bounds.check(lambda, "lambda", in: Bounds.lambda)
        try Bounds.check(clipGradNorm, "clip-grad-norm", in: 0...1e6, exclusiveLower: true)
        try Bounds.check(headLR, "head-lr", in: 0...100, exclusiveLower: true)
        if noClip, clipGradNorm != nil { throw ValidationError("--no-clip and --clip-grad-norm contradict each other") }
        if distance.tap == .mlpBranch, !model.model.kind.hasMLPBranches {
            throw ValidationError("--tap mlp-branch needs a transformer (vit, vit_b_16, swin_t); \(model.model.rawValue) blocks have no MLP branch")
        }
        try Bounds.check(lambdaWarmup, "lambda-warmup", in: 0...Double(Bounds.epochs.upperBound))
        try Bounds.check(epochs, "epochs", in: Bounds.epochs)
        try Bounds.check(batchSize, "batch-size", in: Bounds.batchSize)
        try Bounds.check(lr, "lr", in: 0...100, exclusiveLower: true)
        try Bounds.check(momentum, "momentum", in: 0...0.999)
        try Bounds.check(weightDecay, "weight-decay", in: 0...1)
        try Bounds.check(gamma, "gamma", in: 0...1, exclusiveLower: true)
        try Bounds.check(warmupEpochs, "warmup-epochs", in: 0...max(0, epochs - 1))
        try Bounds.check(labelSmoothing, "label-smoothing", in: 0...0.999)
        try Bounds.check(maxBatches, "max-batches", in: Bounds.limit)
        for m in milestones { try Bounds.check(m, "milestones", in: Bounds.epochs) }
        if schedule == .multistep, milestones.isEmpty {
            throw ValidationError("--schedule multistep needs --milestones (e.g. --milestones 80 120)")
        }
    }

    /// The recipe's configuration with every flag given on the command line applied over it.
    func trainingConfig() -> TrainingConfig {
        var base = TrainingConfig()
        base.epochs = epochs
        base.batchSize = batchSize
        var t = (recipe ?? Recipe.default(for: model.model.kind)).applied(to: base)
        if let optimizer { t.optimizer = optimizer }
        if let lr { t.learningRate = lr }
        if t.optimizer == .sgd {
            t.momentum = momentum
            t.nesterov = nesterov
        }
        if let weightDecay { t.weightDecay = weightDecay }
        if let decayScope { t.weightDecayScope = decayScope }
        if let clipGradNorm { t.gradientClipNorm = clipGradNorm }
        if noClip { t.gradientClipNorm = nil }
        if let schedule { t.schedule = schedule }
        if !milestones.isEmpty { t.milestones = milestones }
        t.gamma = gamma
        if let warmupEpochs { t.warmupEpochs = warmupEpochs }
        if let labelSmoothing { t.labelSmoothing = labelSmoothing }
        if let lambda { t.lambda = lambda }
        if let tap = distance.tap { t.tap = tap }
        t.headLearningRate = headLR
        t.frozen = freeze
        t.lambdaWarmupEpochs = lambdaWarmup
        t.distance = distance.distance
        t.projections = distance.projections
        t.ascentSteps = distance.ascentSteps
        t.blocks = blocks.isEmpty ? nil : blocks
        t.augment = !noAugment
        t.channelsLast = execution.layout == .channelsLast
        t.precision = execution.precision
        t.maxBatchesPerEpoch = maxBatches
        t.seed = seed
        return t
    }

    struct Output: Encodable {
        let runDir: String
        let checkpoint: String
        let epochs: [EpochMetrics]
        enum CodingKeys: String, CodingKey {
            case epochs, checkpoint
            case runDir = "run_dir"
        }
    }

    func run() throws {
        try runtime.apply()
        let device = try execution.prepare()
        let folder = RunFolder(runDirectory)
        // before any check: a second process on this folder stops here, the first is untouched
        let lock = try RunLock.acquire(folder, create: !resume)
        defer { withExtendedLifetime(lock) {} }
        let runConfig: RunConfig
        let prepared: PreparedData
        var imported: (any CollapsibleModel)?
        if resume {
            guard folder.hasCheckpoint else {
                throw UsageError.nothingToResume(runDirectory: runDirectory, checkpoint: folder.checkpointURL.path)
            }
            runConfig = try folder.readConfig()
            prepared = try PreparedData.prepare(runConfig.data)
        } else {
            if folder.hasCheckpoint {
                throw UsageError.runExists(runDirectory: runDirectory)
            }
            var training = trainingConfig()
            try training.validate()
            training.seed = seed
            if FileManager.default.fileExists(atPath: folder.importedModelURL.path) {
                (runConfig, prepared, imported) = try startFromImport(folder, training: training)
            } else {
                let dataConfig = data.config(seed: seed)
                // the architecture needs the class and channel counts: read them from the data
                prepared = try PreparedData.prepare(dataConfig)
                runConfig = RunConfig(model: model.architecture(classCount: prepared.train.classCount,
                                                                inputChannels: prepared.train.channels,
                                                                imageSize: prepared.train.height),
                                      data: dataConfig, training: training, threads: Runtime.threadCount)
            }
        }
        if let blocksGiven = runConfig.training.blocks {
            let names = try runConfig.model.build().collapsibleBlockNames
            for b in blocksGiven where !names.contains(b) {
                throw UsageError.unknownBlock(flag: "blocks", block: b, model: runConfig.model.label, collapsible: names)
            }
        }
        try folder.create()
        if !resume { try folder.writeConfig(runConfig) }
        runtime.log("data: \(prepared.label)")
        runtime.log("model: \(runConfig.model.label); \(runConfig.training.summary)")
        let network = try imported ?? runConfig.model.build(generator: Generator(seed: runConfig.training.seed))
        let trainer = try Trainer(model: network, config: runConfig.training, normalization: prepared.normalization,
                                  device: device)
        trainer.showProgress = runtime.showProgress
        trainer.log = { runtime.log($0) }
        let cancellation = CancellationToken()
        cancellation.installSignalHandlers()
        trainer.cancellation = cancellation
        let history = try trainer.fit(train: prepared.train, validation: prepared.validation, runFolder: folder,
                                      runConfig: runConfig, resume: resume)
        let test = try Evaluation.accuracy(of: network, on: prepared.test, normalization: prepared.normalization,
                                           precision: runConfig.training.precision)
        runtime.log(String(format: "test accuracy %.2f %% → checkpoint %@", test, folder.checkpointURL.path))
        if runtime.json {
            try printJSON(Output(runDir: folder.url.path, checkpoint: folder.checkpointURL.path, epochs: history))
        }
    }

    /// The run of a folder made by `lacoot import`: its architecture and weights, the data
    /// prepared the way the weights expect (their normalization, grayscale repeated to their
    /// channels); the model's flags are not used.
    private func startFromImport(_ folder: RunFolder, training: TrainingConfig) throws
        -> (RunConfig, PreparedData, any CollapsibleModel) {
        let (network, manifest) = try ModelFile.load(from: folder.importedModelURL)
        let report = try JSONDecoder().decode(WeightImport.Report.self, from: Data(contentsOf: folder.importReportURL))
        var dataConfig = data.config(seed: seed)
        dataConfig.channels = manifest.architecture.inputChannels
        dataConfig.normalization = report.normalization
        let prepared = try PreparedData.prepare(dataConfig)
        let arch = manifest.architecture
        guard prepared.train.classCount == arch.classCount else {
            throw ValidationError("the imported model has \(arch.classCount) classes, the data \(prepared.train.classCount): run lacoot import again with --classes \(prepared.train.classCount)")
        }
        if let vit = arch.transformer, vit.imageSize != prepared.train.height || vit.imageSize != prepared.train.width {
            throw ValidationError("the imported ViT takes \(vit.imageSize)×\(vit.imageSize) images, the data are \(prepared.train.height)×\(prepared.train.width)")
        }
        runtime.log("starting from the weights imported from \(report.source) (\(report.loaded) tensors)")
        return (RunConfig(model: arch, data: dataConfig, training: training, threads: Runtime.threadCount), prepared, network)
    }
}
