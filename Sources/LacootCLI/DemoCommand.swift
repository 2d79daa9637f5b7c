import ArgumentParser
import Datasets
import Foundation
import LaCoOT
import LacootSupport
import LacootWorkflow
import Models

/// `lacoot demo`: the whole story on Fashion-MNIST in about ten minutes.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train with λ > 0 and with λ = 0, collapse both block by block, and write a report comparing them.",
        discussion: """
        On Fashion-MNIST (Debian's dataset-fashion-mnist, padded to 32×32) with ResNet-18 at width 16: trains one model with the regularizer and one without, on the same seed and budget; removes their blocks one by one with no finetuning (LaCoOT's ranking, a random order, and the reference's deepest-first order for λ = 0); writes report.html / report.md / report.json. About 10 minutes on 2 cores; --quick takes about a minute.

        --model swin_t (torchvision's Swin-T) or vit (the small ViT) trains transformers from scratch instead, with the transformer recipe (AdamW, warm-up + cosine, label smoothing, clipping): 3 epochs on the first 6,000 training images, 1,000 test images, 18 minutes for swin_t here. --taps output mlp-branch adds a λ > 0 model trained with the reference code's MLP-branch tap.

        Example:
          lacoot demo
          lacoot demo --quick --json
          lacoot demo --lambdas 0 0.5 1 2 5 --ramped-lambdas 5 --out runs/sweep
          lacoot demo --model swin_t --out runs/demo-swin
        """
    )

    @Flag(name: .long, help: "A short run: 1 epoch on 12,000 images, 2,000 test images.") var quick = false
    @Option(name: .long, help: "Output folder.") var out = "runs/demo"
    @Option(name: .long, help: "Network: \(DemoNetwork.allValueStrings.joined(separator: ", ")).") var model = DemoNetwork(.resnet18)
    @Option(name: .long, parsing: .upToNextOption,
            help: "Taps of the λ > 0 models (transformers): output (default), mlp-branch, or both.")
    var taps: [FeatureTap] = [.output]
    @Option(name: .long, help: "λ of the regularized model.") var lambda = 1.0
    @Option(name: .customLong("lambda-warmup"), help: "Epochs over which --lambda (and --ramped-lambdas) ramp up from 0.") var lambdaWarmup = 0.0
    @Option(name: .long, parsing: .upToNextOption,
            help: "A λ sweep instead: one model per constant λ (include 0 for the baseline), e.g. --lambdas 0 0.5 1 2 5.")
    var lambdas: [Double] = []
    @Option(name: .customLong("ramped-lambdas"), parsing: .upToNextOption,
            help: "Extra models whose λ ramps from 0 over --lambda-warmup epochs (default 2), e.g. --ramped-lambdas 5.")
    var rampedLambdas: [Double] = []
    @Option(name: .long, help: "Epochs per model (default 5, transformers 3; --quick: 1).") var epochs: Int?
    @Option(name: .long, help: "ResNet-18 base channels.") var width = 16
    @Option(name: .long, help: "Distance: reference, optimized, sliced.") var distance: DistanceMode = .reference
    @Option(name: .customLong("data-dir"), help: "Fashion-MNIST folder (default: Debian's).") var dataDirectory: String?
    @Option(name: .long, help: "Seed.") var seed: UInt64 = 0
    @Option(name: .long, help: "Training augmentation: none, or a list of crop, resized-crop, flip. (default: crop,flip, Fashion-MNIST's)")
    var augment: String?
    @Flag(name: .customLong("no-augment"), help: "The same as --augment none.") var noAugment = false
    @Option(name: .customLong("train-limit"), help: "Use only the first N training images (smoke runs; --quick: 12000).") var trainLimit: Int?
    @Option(name: .customLong("test-limit"), help: "Use only the first N test images (--quick: 2000).") var testLimit: Int?
    @Flag(name: .customLong("no-latency"), help: "Skip latency measurements (smoke runs).") var noLatency = false
    @Flag(name: .long, help: "Replace the runs of an earlier demo in --out.") var force = false
    @OptionGroup(title: "Execution") var execution: ExecutionOptions

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if let augment {
            do { _ = try Augmentation(parsing: augment) } catch { throw ValidationError("--augment: \(error)") }
            if noAugment, augment != "none" { throw ValidationError("--no-augment and --augment \(augment) contradict each other") }
        }
        guard lambda > 0 else { throw ValidationError("--lambda must be > 0 (the demo compares it with λ = 0), got \(lambda)") }
        try Bounds.check(lambda, "lambda", in: Bounds.lambda)
        try Bounds.check(lambdaWarmup, "lambda-warmup", in: 0...Double(Bounds.epochs.upperBound))
        for l in lambdas { try Bounds.check(l, "lambdas", in: Bounds.lambda) }
        for l in rampedLambdas { try Bounds.check(l, "ramped-lambdas", in: Bounds.lambda) }
        if !lambdas.isEmpty, !lambdas.contains(0) {
            throw ValidationError("--lambdas needs 0 among its values: the λ = 0 model is the baseline the others are compared with")
        }
        try Bounds.check(epochs, "epochs", in: Bounds.epochs)
        try Bounds.check(width, "width", in: Bounds.width)
        try Bounds.check(trainLimit, "train-limit", in: 10...Bounds.limit.upperBound)
        try Bounds.check(testLimit, "test-limit", in: Bounds.limit)
        if !model.choice.family.hasMLPBranches, taps.contains(.mlpBranch) {
            let transformers = Demo.networks.filter(\.family.hasMLPBranches).map(\.rawValue).joined(separator: " or ")
            throw ValidationError("--taps mlp-branch needs a transformer (--model \(transformers)): \(model.choice.family.name) blocks have no MLP branch")
        }
        guard !taps.isEmpty, Set(taps).count == taps.count else { throw ValidationError("--taps lists each tap once") }
    }

    func run() throws {
        try runtime.apply()
        let device = try execution.prepare()
        var options = Demo.Options()
        options.network = model.choice
        options.makeNetworkBudget()
        if quick { options.makeQuick() }
        options.outputDirectory = out
        options.replaceExisting = force
        if lambdas.isEmpty {
            options.arms = taps.map { Demo.Arm(lambda: lambda, warmupEpochs: lambdaWarmup, tap: $0) } + [Demo.Arm(lambda: 0)]
        } else {
            // constant λ, as the reference
            options.arms = lambdas.flatMap { l in l == 0 ? [Demo.Arm(lambda: 0)] : taps.map { Demo.Arm(lambda: l, tap: $0) } }
        }
        let ramp = lambdaWarmup > 0 ? lambdaWarmup : 2
        options.arms += rampedLambdas.filter { $0 > 0 }.flatMap { l in taps.map { Demo.Arm(lambda: l, warmupEpochs: ramp, tap: $0) } }
        if let epochs { options.epochs = epochs }
        options.width = width
        options.distance = distance
        options.dataDirectory = dataDirectory
        options.seed = seed
        if noAugment { options.augmentation = .none }
        if let augment, let parsed = try? Augmentation(parsing: augment) { options.augmentation = parsed }
        if let trainLimit { options.trainLimit = trainLimit }
        if let testLimit { options.testLimit = testLimit }
        options.measureLatency = !noLatency
        options.channelsLast = execution.layout == .channelsLast
        options.precision = execution.precision
        options.device = device
        options.showProgress = runtime.showProgress
        let cancellation = CancellationToken()
        cancellation.installSignalHandlers()
        options.cancellation = cancellation
        var demo = Demo(options: options)
        demo.log = { runtime.log($0) }
        let result = try demo.run()
        if runtime.json {
            try printJSON(result)
        } else {
            for line in result.summary { print(line) }
        }
    }
}
