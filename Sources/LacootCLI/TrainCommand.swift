import ArgumentParser
import Foundation
import LaCoOT
import LacootRecords
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
        Writes config.json, metrics.jsonl (one line per epoch) and checkpoint.safetensors (after every epoch, atomically) to --run-dir. Ctrl-C finishes the current step, writes a checkpoint and exits; --resume continues exactly where the run stopped.

        A folder made by `lacoot import` starts from the imported weights, with the data prepared as they expect (their channels, input size and normalization); the model flags are not used.

        Example:
          lacoot train --run-dir runs/r18-l1 --width 16 --epochs 10 --lambda 1
          lacoot train --run-dir runs/r18-l1 --resume
          lacoot train --run-dir runs/r18-ddp --epochs 10 --lambda 1 --nproc 2
        """
    )

    @Option(name: .customLong("run-dir"), help: "Folder for the run's files.")
    var runDirectory: String

    @Flag(name: .long, help: "Continue the run in --run-dir from its checkpoint (its config.json is used).")
    var resume = false

    @OptionGroup(title: "Data") var data: DataOptions
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Distance") var distance: DistanceOptions

    @Option(name: .long, help: "Regularizer weight λ (0 = plain training; the paper: 5). (default: the recipe's)")
    var lambda: Double?

    @Option(name: .customLong("lambda-warmup"), help: "Epochs over which λ ramps linearly from 0.")
    var lambdaWarmup = 0.0

    @Option(name: .long, parsing: .upToNextOption, help: "Regularize only these blocks (default: all collapsible blocks).")
    var blocks: [String] = []

    @Flag(name: .customLong("zero-init-residual"), help: "Start the regularized blocks as identities: the last BatchNorm of each residual branch at weight 0 (a new model only; `compress` does it by default).")
    var zeroInitResidual = false

    @OptionGroup(title: "Training") var training: TrainingOptions
    @OptionGroup(title: "Execution") var execution: ExecutionOptions
    @OptionGroup(title: "Data-parallel (more than one process)") var distributed: DistributedOptions

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        try Bounds.check(lambda, "lambda", in: Bounds.lambda)
        try distance.checkTap(for: model, runIn: runDirectory)
        try Bounds.check(lambdaWarmup, "lambda-warmup", in: 0...Double(Bounds.epochs.upperBound))
        // a new run's global batch splits evenly over the ranks (a resumed one is checked against its config)
        if let ranks = distributed.launches ? distributed.nproc : distributed.worldSize, ranks > 1, !resume {
            let batch = trainingConfig().batchSize
            guard batch % ranks == 0 else {
                throw ValidationError("--batch-size \(batch) (the global batch) must be a multiple of the \(ranks) ranks")
            }
        }
    }

    /// The recipe's configuration with every flag given on the command line applied over it.
    func trainingConfig() -> TrainingConfig {
        var t = training.config(family: model.family(forRunIn: runDirectory), distance: distance, execution: execution, dataset: data.datasetName)
        if let lambda { t.regularizer.lambda = lambda }
        t.regularizer.lambdaWarmupEpochs = lambdaWarmup
        t.regularizer.blocks = blocks.isEmpty ? nil : blocks
        t.regularizer.zeroInitResidual = zeroInitResidual
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
        if distributed.launches, let ranks = distributed.nproc {
            let status = try Launcher.run(arguments: Array(CommandLine.arguments.dropFirst()), ranks: ranks,
                                          threadsGiven: runtime.threads != nil, deviceHost: distributed.deviceHost)
            if status != 0 { throw ExitCode(status) }
            return
        }
        try runtime.apply()
        let device = try execution.prepare()
        if let rank = distributed.rank, let size = distributed.worldSize, let master = distributed.master, rank == 0 || !runtime.quiet {
            runtime.log("rank \(rank) of \(size): joining the run at \(master) (waiting up to \(Int(distributed.timeout)) s for every rank)")
        }
        let parallel = try distributed.join(device: device)
        let writer = parallel?.isWriter ?? true
        let session = try RunSession.open(runDirectory: runDirectory, resume: resume, training: trainingConfig(),
                                          data: data, model: model, runtime: runtime, writer: writer)
        defer { withExtendedLifetime(session.lock) {} }
        let trainer = try session.trainer(device: device)
        if let parallel { trainer.synchronization = parallel }
        if !writer { trainer.showProgress = false; trainer.log = { _ in } }
        let history: [EpochMetrics]
        do {
            history = try session.train(with: trainer, resume: resume)
        } catch let error as TrainingError {
            // every rank stopped at the same step: end together, so no heartbeat outlives rank 0's store
            if case .interrupted = error {
                try? parallel?.finish()
                if !writer { throw ExitCode(1) }   // rank 0 says where the checkpoint is
            }
            throw error
        }
        try parallel?.finish()
        guard writer else { return }
        let test = try session.testAccuracy()
        runtime.log(String(format: "test accuracy %.2f %% → checkpoint %@", test, session.folder.checkpointURL.path))
        if runtime.json {
            try printJSON(Output(runDir: session.folder.url.path, checkpoint: session.folder.checkpointURL.path, epochs: history))
        }
    }
}
