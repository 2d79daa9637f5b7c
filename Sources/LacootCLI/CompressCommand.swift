import ArgumentParser
import Foundation
import LaCoOT
import LacootReport
import LacootWorkflow
import Models
import Torch

/// `lacoot compress`: one training run driven by a removal target, then the collapse.
struct CompressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Train toward a removal target (per-block λ adapted during training), then remove blocks within an accuracy budget.",
        discussion: """
        No λ to choose. A new convolutional network starts with its blocks as identities (the last \
        BatchNorm of each residual branch at weight 0; --no-zero-init keeps the usual initialization). For \
        the first 20 % of the steps every block trains at --initial-lambda; then the blocks cheapest to \
        remove (lowest distance per MAC) are kept until removing them leaves at most --target-macs of the \
        MACs (within --target-tolerance), the others are released and train freely, and each kept \
        block's λ follows a dual ascent: raised while its distance lags a path down to --epsilon (reached \
        at 80 % of the steps), relaxed while ahead, never above --max-lambda.

        Blocks that do not start as identities — weights from `lacoot import` (a pretrained network \
        adapted to a new task) and transformers — take the identity path (--identity-path): the blocks \
        are ranked by the cost of bypassing each (--selection ablation) and, from the selection on, each \
        chosen block's residual branch is multiplied by a scale that falls from 1 to 0 by --reach-at, so \
        the rest of the network learns to do without it and the block ends exactly as the identity; \
        removing it then costs nothing and needs no measurement. Trained blocks (imported weights) are \
        chosen at 5 % of the steps and gone by 30 % (a transformer's at 2 % and by 15 %): the longer the \
        network adapts without them, the better. A new transformer's are chosen at 70 % and gone by \
        85 %: all its layers train as long as possible first. --distill adds a distillation term toward \
        the model as it was at the selection.

        After training the chosen blocks are removed in order of validation distance, each only while \
        accuracy stays within --max-drop points (on the validation split, topped up with training images \
        to 4096 when smaller), and the BatchNorm statistics are re-estimated on --bn-images training \
        images where that does at least as well: a statistics pass, no gradient step, not finetuning. \
        Both accuracies are reported.

        Import first to compress a pretrained network: `lacoot import W.pth --model resnet18 --classes 5 \
        --new-head --run-dir R`, then `lacoot compress --run-dir R --dataset folder --data-dir D --epochs 3 \
        --lr 0.01 --head-lr 0.1`.

        Writes what `train` and `collapse` write to --run-dir: config.json, metrics.jsonl (with each \
        block's λ), checkpoint.safetensors (the trained model, before removal), collapsed.safetensors + \
        collapsed.json and report.json / report.md / report.html. Ctrl-C stops with a checkpoint; \
        --resume continues (and compresses a finished run again).

        Examples:
          lacoot compress --run-dir runs/r18-compress --width 16 --epochs 5
          lacoot compress --run-dir runs/r20 --model resnet20 --target-macs 0.6 --json
        """
    )

    @Option(name: .customLong("run-dir"), help: "Folder for the run's files.")
    var runDirectory: String

    @Flag(name: .long, help: "Continue the run in --run-dir from its checkpoint (its config.json is used), then compress.")
    var resume = false

    @Option(name: .customLong("max-drop"), help: "Remove a block only while validation accuracy stays within this many points of the full model's.")
    var maxDrop = 1.0

    @Option(name: .customLong("target-macs"), help: "Keep at most this share of the full model's MACs (0.5 = at least 2× fewer).")
    var targetMACs = 0.5

    @Option(name: .customLong("target-tolerance"), help: "How far above --target-macs the MACs left may end and still count as reaching it, as a share of the target: whole blocks rarely land on it exactly, and one more block costs accuracy for a hair of MACs (0.01: a 2× target is met at 1.98×; 0 = strict).")
    var targetTolerance = AdaptiveLambda.Settings.defaultTargetTolerance

    @Option(name: .long, help: "Distance below which a block counts as removable; each block's λ rises while its distance is above it.")
    var epsilon = AdaptiveLambda.Settings().epsilon

    @Option(name: .customLong("initial-lambda"), help: "Every block's λ at the first step.")
    var initialLambda = AdaptiveLambda.Settings().initialLambda

    @Option(name: .customLong("max-lambda"), help: "The largest λ a block may reach.")
    var maxLambda = AdaptiveLambda.Settings().maximumLambda

    @Option(name: .customLong("selection-at"), help: "Share of the training steps after which the blocks to remove are chosen. (default: 0.05 for imported convolutional weights, 0.02 for an imported transformer, 0.7 for a new transformer, 0.2 for a new convolutional network)")
    var selectionAt: Double?

    @Option(name: .customLong("reach-at"), help: "Share of the training steps by which the chosen blocks must be removable (within --epsilon; on the identity path, their residual scale at 0); the rest of the steps train the network without them. (default: 0.3 for imported convolutional weights, 0.15 for an imported transformer, 0.85 for a new transformer, 0.8 for a new convolutional network)")
    var reachAt: Double?

    @Flag(name: .customLong("no-bn-reestimation"), help: "Keep the BatchNorm statistics of the full model after removing blocks.")
    var noBNReestimation = false

    @Option(name: .customLong("bn-images"), help: "Training images the BatchNorm re-estimation averages over.")
    var bnImages = 4_096

    @Flag(name: .customLong("no-latency"), help: "Skip latency measurements.") var noLatency = false

    @Flag(name: .customLong("no-zero-init"), help: "Initialize the blocks' residual branches as usual instead of at zero (the last BatchNorm's weight; a new model only, not imported weights).")
    var noZeroInit = false

    @Option(name: .customLong("identity-path"), help: ArgumentHelp("How the blocks chosen for removal reach the identity: their residual branch scaled from 1 to 0 between --selection-at and --reach-at (linear or cosine), or off. auto: linear for imported weights and transformers, off for a new convolutional network (its blocks start as identities).", valueName: "auto|linear|cosine|off"))
    var identityPath: IdentityPathChoice = .auto

    @Option(name: .long, help: ArgumentHelp("How the blocks to remove are ranked when they are chosen (at --selection-at): by their LaCoOT distance, or by the cross-entropy increase on a training batch with the block bypassed (ablation), per MAC saved. auto: ablation for imported weights and transformers (whose blocks start far from the identity), distance for a new convolutional network.", valueName: "auto|distance|ablation"))
    var selection: SelectionChoice = .auto

    @Option(name: .long, help: ArgumentHelp("Weight of a distillation term: from the block selection on, the model also learns the logits of itself frozen at that moment (T² · KL at --distill-temperature). 0 = off.", valueName: "weight"))
    var distill = 0.0

    @Option(name: .customLong("distill-temperature"), help: "The distillation's softmax temperature.")
    var distillTemperature = Distillation().temperature

    @OptionGroup(title: "Data") var data: DataOptions
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Distance") var distance: DistanceOptions
    @OptionGroup(title: "Training") var training: TrainingOptions
    @OptionGroup(title: "Execution") var execution: ExecutionOptions
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        try Bounds.check(maxDrop, "max-drop", in: 0...100)
        try Bounds.check(targetMACs, "target-macs", in: 0...1, exclusiveLower: true)
        try Bounds.check(targetTolerance, "target-tolerance", in: 0...0.5)
        try Bounds.check(epsilon, "epsilon", in: 0...1e6, exclusiveLower: true)
        try Bounds.check(maxLambda, "max-lambda", in: 0...1e6, exclusiveLower: true)
        try Bounds.check(initialLambda, "initial-lambda", in: 0...maxLambda, exclusiveLower: true)
        try Bounds.check(bnImages, "bn-images", in: 1...Bounds.limit.upperBound)
        try Bounds.check(selectionAt, "selection-at", in: 0...1)
        try Bounds.check(reachAt, "reach-at", in: 0...1, exclusiveLower: true)
        let timing = defaults()
        let (selection, reach) = (selectionAt ?? timing.selectionFraction, reachAt ?? timing.reachFraction)
        guard selection < reach else {
            throw ValidationError("--selection-at \(selection) must come before --reach-at \(reach)")
        }
        try Bounds.check(distill, "distill", in: 0...1e3)
        try Bounds.check(distillTemperature, "distill-temperature", in: 0...100, exclusiveLower: true)
        try distance.checkTap(for: model, runIn: runDirectory)
    }

    /// The training configuration: the recipe and flags, λ adaptive.
    func trainingConfig() -> TrainingConfig {
        let family = model.family(forRunIn: runDirectory)
        var t = training.config(family: family, distance: distance, execution: execution, dataset: data.datasetName)
        let blocksStart = start(of: family)
        var settings = AdaptiveLambda.Settings.compressDefaults(for: blocksStart)
        settings.epsilon = epsilon
        settings.initialLambda = initialLambda
        settings.maximumLambda = maxLambda
        settings.minimumLambda = min(settings.minimumLambda, initialLambda)
        settings.targetMACs = targetMACs
        settings.targetTolerance = targetTolerance
        settings.selectionFraction = selectionAt ?? settings.selectionFraction
        settings.reachFraction = reachAt ?? settings.reachFraction
        settings.identityPath = identityPath.path(default: settings.identityPath)
        settings.selection = selection.criterion(default: settings.selection)
        t.regularizer.adaptiveLambda = settings
        t.regularizer.distillation = distill > 0 ? Distillation(weight: distill, temperature: distillTemperature) : nil
        t.regularizer.zeroInitResidual = !noZeroInit && blocksStart == .identities
        t.regularizer.lambda = initialLambda
        return t
    }

    /// Where the blocks of the run's `family` start: as identities (a new CNN), trained
    /// (imported weights) or as transformer blocks.
    func start(of family: ModelFamily) -> AdaptiveLambda.Settings.Start {
        let imported = FileManager.default.fileExists(atPath: RunFolder(runDirectory).importedModelURL.path)
        return .init(transformer: family.style == .transformer, imported: imported)
    }

    /// The library's defaults for the run's start (docs/RESULTS.md measures them).
    func defaults() -> AdaptiveLambda.Settings {
        .compressDefaults(for: start(of: model.family(forRunIn: runDirectory)))
    }

    /// `--identity-path`'s values.
    enum IdentityPathChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, linear, cosine, off

        /// The path for a run; `auto` takes the run's default (the linear path when the blocks
        /// do not start as identities: imported weights, transformers).
        func path(default automatic: IdentityPath?) -> IdentityPath? {
            switch self {
            case .auto: automatic
            case .linear: IdentityPath(shape: .linear)
            case .cosine: IdentityPath(shape: .cosine)
            case .off: nil
            }
        }
    }

    /// `--selection`'s values.
    enum SelectionChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, distance, ablation

        /// `auto` takes the run's default: ablation when the blocks do not start as identities
        /// (measured: the pretrained small ViT keeps 62.1 % with 5 of 8 layers removed instead of
        /// 20.3 %), the distance otherwise.
        func criterion(default automatic: BlockSelection?) -> BlockSelection {
            switch self {
            case .auto: automatic ?? .distance
            case .distance: .distance
            case .ablation: .ablation
            }
        }
    }

    /// The `--json` output.
    struct Output: Encodable {
        struct Figures: Encodable {
            let accuracy: Double
            let macs: Int
            let params: Int
            var removed: [String]? = nil
        }
        let full: Figures
        let compressed: Figures
        let compressedWithoutBNReestimation: Figures
        let rejected: [String]
        let lambdaFinal: [String: Double]
        let epochs: Int
        let targetMACs: Double
        let macsRatio: Double
        let targetMet: Bool
        let model: String
        let report: String
        enum CodingKeys: String, CodingKey {
            case full, compressed, rejected, epochs, model, report
            case compressedWithoutBNReestimation = "compressed_without_bn_reestimation"
            case lambdaFinal = "lambda_final"
            case targetMACs = "target_macs"
            case macsRatio = "macs_ratio"
            case targetMet = "target_met"
        }
    }

    func run() throws {
        try runtime.apply()
        let device = try execution.prepare()
        let session = try RunSession.open(runDirectory: runDirectory, resume: resume, training: trainingConfig(),
                                          data: data, model: model, runtime: runtime)
        defer { withExtendedLifetime(session.lock) {} }
        guard let settings = session.config.training.regularizer.adaptiveLambda else {
            throw ValidationError("\(session.folder.configURL.path) is a run of `lacoot train` with a fixed λ; resume it with `lacoot train --resume` and use `lacoot collapse`")
        }
        let compressor = Compressor(trainer: try session.trainer(device: device))
        compressor.maxDrop = maxDrop
        compressor.reestimateBatchNorm = !noBNReestimation
        compressor.reestimationImages = bnImages
        compressor.measureLatency = !noLatency
        compressor.log = { runtime.log($0) }
        let compression = try session.compress(with: compressor, resume: resume)
        let (outcome, manifestURL) = (compression.outcome, compression.collapsedModel)

        let ratio = Double(outcome.full.macs) / Double(max(outcome.compressed.macs, 1))
        let met = settings.reachesTarget(macs: Double(outcome.compressed.macs), fullMACs: Double(outcome.full.macs))
        if runtime.json {
            try printJSON(Output(
                full: .init(accuracy: outcome.full.accuracy, macs: outcome.full.macs, params: outcome.full.params),
                compressed: .init(accuracy: outcome.compressed.accuracy, macs: outcome.compressed.macs,
                                  params: outcome.compressed.params, removed: outcome.removed),
                compressedWithoutBNReestimation: .init(accuracy: outcome.compressedWithoutReestimation.accuracy,
                                                       macs: outcome.compressedWithoutReestimation.macs,
                                                       params: outcome.compressedWithoutReestimation.params),
                rejected: outcome.rejected, lambdaFinal: outcome.lambdaFinal, epochs: session.config.training.epochs,
                targetMACs: settings.targetMACs ?? 1, macsRatio: ratio, targetMet: met, model: manifestURL.path,
                report: session.folder.reportHTMLURL.path))
        } else {
            print("blocks removed: " + (outcome.removed.isEmpty ? "none" : outcome.removed.joined(separator: ", "))
                  + (outcome.rejected.isEmpty ? "" : " (kept, too costly: \(outcome.rejected.joined(separator: ", ")))"))
            let bn = noBNReestimation ? "" : String(format: " (%.2f %% before the BatchNorm re-estimation)",
                                                    outcome.compressedWithoutReestimation.accuracy)
            print(String(format: "accuracy: %.2f %% → %.2f %%", outcome.full.accuracy, outcome.compressed.accuracy) + bn)
            print("MACs:     \(mega(outcome.full.macs)) → \(mega(outcome.compressed.macs))"
                  + String(format: " (%.2f× fewer; target %.2f×: %@)", ratio, 1 / (settings.targetMACs ?? 1), met ? "met" : "missed"))
            print("params:   \(mega(outcome.full.params)) → \(mega(outcome.compressed.params))")
            print("final λ:  " + outcome.lambdaFinal.sorted { $0.key < $1.key }
                .map { String(format: "%@ %.3g", $0.key, $0.value) }.joined(separator: ", "))
            print("collapsed model: \(manifestURL.path)")
            print("report: \(session.folder.reportHTMLURL.path)")
        }
    }
}
