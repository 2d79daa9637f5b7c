import ArgumentParser
import Datasets
import Foundation
import LacootSupport
import LacootWorkflow
import Models
import NN
import Torch

/// `lacoot import`: PyTorch weights into a run folder that `lacoot train` fine-tunes from.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bring weights saved by PyTorch (a torch.save state_dict or .safetensors) into a run folder to fine-tune.",
        discussion: """
        Reads the file without Python: a torch.save file (the zip format, or the legacy format of PyTorch before 1.6) or a .safetensors file. A pickle that names anything but tensors and plain containers (os.system, a class of someone's code) is refused and never runs.

        The file may be a bare state dict or a checkpoint dict that holds one beside other entries (epoch, accuracies, optimizer state), such as the {'model_state_dict': …, 'optimizer_state_dict': …} of the official LaCoOT code or the 'state_dict', 'model', 'module', 'net' or 'ema' of other trainers: the state dict whose keys fit the model is taken. When several fit (a model and its EMA copy), --key NAME chooses and the error lists them. Key prefixes of wrappers (DataParallel and DDP's module., Lightning's model., torch.compile's _orig_mod., in any combination) are stripped when every key carries them. Half, bfloat16 and double weights are converted to float32, and the output says so.

        The keys are matched against the model under PyTorch's names; missing, unexpected and mismatched keys are listed when they differ. With --classes N different from the file's, the classifier (fc, classifier.1, head, heads.head) starts afresh for N classes. torchvision's architectures are assumed: a ResNet's ImageNet stem is recognized by its 7×7 kernel (a 3×3 kernel is the CIFAR stem with max-pool, LaCoOT's ResNet-18); MobileNetV2 takes torchvision's ImageNet layout unless --cifar-stem says it is the CIFAR one (LaCoOT's CIFAR-10 MobileNetV2).

        Writes imported.safetensors (the model file, recording the input size, normalization and class count the weights expect) and import.json (what was read) to --run-dir. The folder is then a run folder: `lacoot train` and `compress` fine-tune from these weights, `evaluate`, `score` and `collapse` work on them as they are, each with the data flags (--dataset …), and `predict --run-dir` classifies images. Every command prepares its data the way the weights expect: grayscale repeated into 3 channels when the model needs them, images zero-padded (or, for image folders and the transfer datasets, resized) to the imported input size, normalized with the imported statistics.

        Example:
          lacoot import resnet18.pth --model resnet18 --classes 10 --run-dir runs/ft
          lacoot import ckpt.pt --model mobilenetv2 --cifar-stem --run-dir runs/mnv2
          lacoot evaluate --run-dir runs/ft --dataset cifar10 --data-dir cifar
          lacoot train --run-dir runs/ft --dataset cifar10 --data-dir cifar --lambda 1
        """
    )

    @Argument(help: "The weights: a .pth/.pt written by torch.save (a state dict, or a checkpoint dict holding one), or a .safetensors file.")
    var weights: String
    @Option(name: .long, help: "The entry of a checkpoint dict that holds the weights (e.g. model_state_dict, ema), when several fit the model.")
    var key: String?
    @Flag(name: .customLong("cifar-stem"), help: "mobilenetv2: the weights are of the CIFAR layout (stem and second stage at stride 1, LaCoOT's CIFAR-10 MobileNetV2), not torchvision's ImageNet one.")
    var cifarStem = false
    @Option(name: .customLong("run-dir"), help: "Folder to create for the imported model.") var runDirectory: String
    @OptionGroup(title: "Model") var model: ModelOptions
    @Option(name: .long, help: "Classes of the task (default: the file's; another count re-initializes the classifier).")
    var classes: Int?
    @Flag(name: .customLong("new-head"), help: "Re-initialize the classifier even when the class count is the file's (a new task with as many classes).")
    var newHead = false
    @Option(name: .customLong("image-size"), help: "Input size the weights expect (default: 224 for ImageNet stems and vit_b_16, else 32).")
    var imageSize: Int?
    @Option(name: .long, parsing: .upToNextOption, help: "Per-channel mean of pixel/255 (default: ImageNet's for 3 channels).")
    var mean: [Float] = []
    @Option(name: .long, parsing: .upToNextOption, help: "Per-channel standard deviation of pixel/255 (default: ImageNet's for 3 channels).")
    var std: [Float] = []
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        try Bounds.check(classes, "classes", in: 1...100_000)
        try Bounds.check(imageSize, "image-size", in: Bounds.imageSide)
        if cifarStem, !model.model.family.importRules.stemIsImageNetUnlessTold || model.imageNetStem {
            let models = ModelRegistry.names { $0.family.importRules.stemIsImageNetUnlessTold }.joined(separator: " or ")
            throw ValidationError("--cifar-stem applies to --model \(models) without --imagenet-stem (a ResNet's stem shows in its weights)")
        }
        guard mean.count == std.count else { throw ValidationError("--mean and --std need one value per channel each") }
        guard std.allSatisfy({ $0 > 0 && $0.isFinite }), mean.allSatisfy(\.isFinite) else {
            throw ValidationError("--std values must be > 0 and --mean values finite")
        }
    }

    func run() throws {
        try runtime.apply()
        let folder = RunFolder(runDirectory)
        let lock = try RunLock.acquire(folder)
        defer { withExtendedLifetime(lock) {} }
        guard !FileManager.default.fileExists(atPath: folder.importedModelURL.path), !folder.hasCheckpoint else {
            throw UsageError.runExists(runDirectory: runDirectory)
        }
        let url = URL(fileURLWithPath: weights)
        let read = try readWeights(url)
        let tensors = read.tensors
        let rules = model.model.family.importRules
        let found = WeightImport.shapes(of: tensors, rules: rules)
        let channels = found.channels ?? 3
        let classCount = classes ?? found.classes ?? 1000
        let stemKernel = tensors.first { $0.name == rules.stemKey }?.tensor.shape.last
        var options = model
        // torchvision's ResNets show their ImageNet stem by its 7×7 kernel; MobileNetV2's stems differ only in
        // stride, so its weights are taken as torchvision's (ImageNet stem)
        if stemKernel == 7 || (rules.stemIsImageNetUnlessTold && !cifarStem) { options.imageNetStem = true }
        let size = imageSize ?? model.model.variant.imageSize ?? (options.imageNetStem ? 224 : 32)
        // a ViT's position table fixes its input; a convolutional network takes the data's size unless told one
        let recorded = imageSize ?? (rules.inputSizeIsFixed ? size : nil)
        let architecture = options.architecture(classCount: classCount, inputChannels: channels, imageSize: size)
        let network = try architecture.build(generator: Generator(seed: 0))
        let (loaded, reinitialized) = try WeightImport.load(tensors, into: network,
                                                            reinitializeClassifier: newHead || found.classes != classCount)
        let normalization = try inputNormalization(channels: channels)
        try folder.create()
        try ModelFile.save(network, to: folder.importedModelURL,
                           normalization: InputNormalization(mean: normalization.mean, std: normalization.std),
                           inputShape: recorded.map { [channels, $0, $0] })
        let report = WeightImport.Report(source: url.path, format: read.format, tensorsInFile: tensors.count, loaded: loaded,
                                         reinitialized: reinitialized, fileClassCount: found.classes,
                                         fileInputChannels: found.channels, normalization: normalization, imageSize: recorded,
                                         key: read.key, strippedPrefix: read.strippedPrefix.isEmpty ? nil : read.strippedPrefix,
                                         converted: read.converted.isEmpty ? nil : read.converted)
        try AtomicFile.writeJSON(report, to: folder.importReportURL)
        if runtime.json {
            try printJSON(report)
        } else {
            print("imported \(loaded) tensors of \(url.lastPathComponent) (\(read.format)"
                  + (read.key.map { ", entry '\($0)'" } ?? "") + ") into \(architecture.label)"
                  + (reinitialized.isEmpty ? "" : "; \(reinitialized.joined(separator: ", ")) re-initialized for \(classCount) classes"))
            if !read.strippedPrefix.isEmpty { print("stripped the key prefix '\(read.strippedPrefix)' from every key") }
            if !read.converted.isEmpty { print("converted to float32: \(read.converted.joined(separator: ", "))") }
            print("input: \(channels) channel(s), " + (recorded.map { "\($0)×\($0)" } ?? "the data's own size (--image-size fixes one)")
                  + ", normalization \(normalization)")
            print("next: lacoot train|compress|evaluate|score|collapse --run-dir \(runDirectory) [data flags], or lacoot predict --run-dir \(runDirectory) IMAGE")
        }
    }

    /// The file's state dict that fits the model's keys (the key names do not depend on the class
    /// count, channels or stem, so a default-sized model of the family gives them).
    private func readWeights(_ url: URL) throws -> WeightImport.Weights {
        let probe = try model.architecture(classCount: 10, inputChannels: 3, imageSize: imageSize ?? model.model.variant.imageSize ?? 32)
            .build(generator: Generator(seed: 0))
        do {
            return try WeightImport.read(url, modelKeys: Set(probe.stateDict().map(\.name)),
                                         classifierPrefix: model.model.family.importRules.classifierPrefix, requestedKey: key)
        } catch let error as ImportError where error.isUsage {
            throw ValidationError(error.description)
        }
    }

    /// --mean/--std, or ImageNet's statistics for 3 channels (0.5/0.5 otherwise).
    private func inputNormalization(channels: Int) throws -> Normalization {
        if !mean.isEmpty {
            guard mean.count == channels else {
                throw ValidationError("--mean/--std give \(mean.count) values, the weights take \(channels) channel(s)")
            }
            return Normalization(mean: mean, std: std)
        }
        if channels == 3 { return Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]) }
        return Normalization(mean: Array(repeating: 0.5, count: channels), std: Array(repeating: 0.5, count: channels))
    }
}
