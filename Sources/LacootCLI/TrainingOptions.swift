import ArgumentParser
import Datasets
import LaCoOT
import LacootWorkflow
import Models
import NN
import Optim

/// The training flags `train` and `compress` share: recipe, optimizer, schedule, budget, seed.
struct TrainingOptions: ParsableArguments {
    @Option(name: .long, help: """
        Training defaults: cnn (SGD lr 0.1, weight decay 1e-4, cosine, λ 5), transformer (AdamW lr 1e-3, \
        weight decay 0.05 on weights only, 1 warm-up epoch + cosine, label smoothing 0.1, clip 1, λ 0.1) or \
        swin-reference (the reference's Swin-T recipe: SGD lr 1e-3, steps at 50/75 % of the epochs, λ 0.1, \
        --tap mlp-branch). Default: transformer for vit, vit_b_16, swin_t; cnn otherwise. Flags override it.
        """)
    var recipe: Recipe?

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
    @Option(name: .long, help: """
        Training augmentation: none, or a list of crop (random crop from the zero-padded image), resized-crop \
        (ImageNet's random resized crop) and flip (horizontal, probability ½), e.g. crop,flip. Default by \
        dataset: mnist crop (padding 2, never a flip: a mirrored 2, 5 or 7 is no longer that digit); \
        fashion-mnist, cifar10, cifar100 and folder crop,flip (the paper's); tiny-imagenet, flowers102, dtd, \
        aircraft, pacs and vlcs resized-crop,flip. Written to config.json; --resume keeps it.
        """)
    var augment: String?
    @Option(name: .customLong("crop-padding"), help: "Zero padding on each side for --augment crop. (default: 2 for mnist, 4 otherwise)")
    var cropPadding: Int?
    @Flag(name: .customLong("no-augment"), help: "The same as --augment none.") var noAugment = false
    @Option(name: .customLong("max-batches"), help: "Stop each epoch after N batches (quick runs).") var maxBatches: Int?
    @Option(name: .long, help: "Seed of initialization, split, shuffling, augmentation and directions.") var seed: UInt64 = 0


    func validate() throws {
        try Bounds.check(cropPadding, "crop-padding", in: 1...64)
        if noAugment, let augment, augment.trimmingCharacters(in: .whitespaces) != "none" {
            throw ValidationError("--no-augment and --augment \(augment) contradict each other")
        }
        if let augment {
            do { _ = try Augmentation(parsing: augment) } catch { throw ValidationError("--augment: \(error)") }
        }
        try Bounds.check(clipGradNorm, "clip-grad-norm", in: 0...1e6, exclusiveLower: true)
        try Bounds.check(headLR, "head-lr", in: 0...100, exclusiveLower: true)
        if noClip, clipGradNorm != nil { throw ValidationError("--no-clip and --clip-grad-norm contradict each other") }
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

    /// The recipe's configuration (the model's default recipe unless `--recipe`) with every
    /// flag given on the command line applied over it; λ and the blocks are the caller's.
    func config(family: ModelFamily, distance: DistanceOptions, execution: ExecutionOptions, dataset: String) -> TrainingConfig {
        var base = TrainingConfig()
        base.epochs = epochs
        base.batchSize = batchSize
        var t = (recipe ?? Recipe.default(for: family)).applied(to: base)
        if let optimizer { t.optimizer.kind = optimizer }
        if let lr { t.optimizer.learningRate = lr }
        if t.optimizer.kind == .sgd {
            t.optimizer.momentum = momentum
            t.optimizer.nesterov = nesterov
        }
        if let weightDecay { t.optimizer.weightDecay = weightDecay }
        if let decayScope { t.optimizer.weightDecayScope = decayScope }
        if let clipGradNorm { t.optimizer.gradientClipNorm = clipGradNorm }
        if noClip { t.optimizer.gradientClipNorm = nil }
        if let schedule { t.schedule.kind = schedule }
        if !milestones.isEmpty { t.schedule.milestones = milestones }
        t.schedule.gamma = gamma
        if let warmupEpochs { t.schedule.warmupEpochs = warmupEpochs }
        if let labelSmoothing { t.labelSmoothing = labelSmoothing }
        if let tap = distance.tap { t.regularizer.tap = tap }
        t.optimizer.headLearningRate = headLR
        t.optimizer.frozen = freeze
        t.regularizer.distance = distance.distance
        t.regularizer.projections = distance.projections
        t.regularizer.ascentSteps = distance.ascentSteps
        t.augmentation = augmentation(dataset: dataset)
        t.execution.channelsLast = execution.layout == .channelsLast
        t.execution.precision = execution.precision
        t.execution.maxBatchesPerEpoch = maxBatches
        t.seed = seed
        return t
    }

    /// `--augment` (with `--crop-padding`), `none` for `--no-augment`, else the dataset's default.
    func augmentation(dataset: String) -> Augmentation {
        let kind = DatasetKind(rawValue: dataset) ?? .imageFolder
        let fallback = Augmentation.default(for: kind)
        if noAugment { return .none }
        let padding = cropPadding ?? (fallback.cropPadding > 0 ? fallback.cropPadding : Augmentation.defaultCropPadding)
        guard let augment else {
            var a = fallback
            if a.cropPadding > 0 { a.cropPadding = padding }
            return a
        }
        return (try? Augmentation(parsing: augment, cropPadding: padding)) ?? fallback
    }
}
