import ArgumentParser
import Foundation
import LaCoOT
import LacootSupport
import LacootWorkflow

/// `lacoot demo`: the whole story on Fashion-MNIST in about ten minutes.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train with λ > 0 and with λ = 0, collapse both block by block, and write a report comparing them.",
        discussion: """
        On Fashion-MNIST (Debian's dataset-fashion-mnist, padded to 32×32) with ResNet-18 at width 16:
        trains one model with the regularizer and one without, on the same seed and budget; removes
        their blocks one by one with no finetuning (LaCoOT's ranking, a random order, and the
        reference's deepest-first order for λ = 0); writes report.html / report.md / report.json.
        About 10 minutes on 2 cores; --quick takes about a minute.

        Example:
          lacoot demo
          lacoot demo --quick --json
          lacoot demo --lambdas 0 0.5 1 2 5 --ramped-lambdas 5 --epochs 8 --out runs/sweep
        """
    )

    @Flag(name: .long, help: "A short run: 1 epoch on 12,000 images, 2,000 test images.") var quick = false
    @Option(name: .long, help: "Output folder.") var out = "runs/demo"
    @Option(name: .long, help: "λ of the regularized model.") var lambda = 1.0
    @Option(name: .customLong("lambda-warmup"), help: "Epochs over which --lambda (and --ramped-lambdas) ramp up from 0.") var lambdaWarmup = 0.0
    @Option(name: .long, parsing: .upToNextOption,
            help: "A λ sweep instead: one model per constant λ (include 0 for the baseline), e.g. --lambdas 0 0.5 1 2 5.")
    var lambdas: [Double] = []
    @Option(name: .customLong("ramped-lambdas"), parsing: .upToNextOption,
            help: "Extra models whose λ ramps from 0 over --lambda-warmup epochs (default 2), e.g. --ramped-lambdas 5.")
    var rampedLambdas: [Double] = []
    @Option(name: .long, help: "Epochs per model (default 5; --quick: 1).") var epochs: Int?
    @Option(name: .long, help: "ResNet-18 base channels.") var width = 16
    @Option(name: .long, help: "Distance: reference, optimized, sliced.") var distance: DistanceMode = .reference
    @Option(name: .customLong("data-dir"), help: "Fashion-MNIST folder (default: Debian's).") var dataDirectory: String?
    @Option(name: .long, help: "Seed.") var seed: UInt64 = 0
    @Option(name: .customLong("train-limit"), help: "Use only the first N training images (smoke runs; --quick: 12000).") var trainLimit: Int?
    @Option(name: .customLong("test-limit"), help: "Use only the first N test images (--quick: 2000).") var testLimit: Int?
    @Flag(name: .customLong("no-latency"), help: "Skip latency measurements (smoke runs).") var noLatency = false
    @OptionGroup(title: "Execution") var execution: ExecutionOptions

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
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
    }

    func run() throws {
        try runtime.apply()
        let device = try execution.prepare()
        var options = Demo.Options()
        if quick { options.makeQuick() }
        options.outputDirectory = out
        if lambdas.isEmpty {
            options.arms = [Demo.Arm(lambda: lambda, warmupEpochs: lambdaWarmup), Demo.Arm(lambda: 0)]
        } else {
            options.arms = lambdas.map { Demo.Arm(lambda: $0) }   // constant λ, as the reference
        }
        let ramp = lambdaWarmup > 0 ? lambdaWarmup : 2
        options.arms += rampedLambdas.filter { $0 > 0 }.map { Demo.Arm(lambda: $0, warmupEpochs: ramp) }
        if let epochs { options.epochs = epochs }
        options.width = width
        options.distance = distance
        options.dataDirectory = dataDirectory
        options.seed = seed
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
