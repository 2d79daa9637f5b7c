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
        Reads the file without Python (a .pth whose pickle names anything but tensors and plain
        containers is refused and never runs), matches its keys against the model under PyTorch's
        names, and lists missing, unexpected and mismatched keys when they differ. With --classes N
        different from the file's, the classifier (fc, classifier.1, head, heads.head) starts afresh
        for N classes. torchvision's architectures are assumed: a ResNet's ImageNet stem is
        recognized by its 7×7 kernel, MobileNetV2 always takes its ImageNet stem. Writes imported.safetensors and import.json (what was read, the normalization
        and input size the weights expect) to --run-dir; `lacoot train --run-dir R …` then starts
        from these weights, repeating grayscale images into 3 channels when the model needs them.

        Example:
          lacoot import resnet18.pth --model resnet18 --classes 10 --run-dir runs/ft
          lacoot train --run-dir runs/ft --epochs 3 --lambda 1 --lr 0.01
        """
    )

    @Argument(help: "The weights: a .pth/.pt written by torch.save, or a .safetensors file.") var weights: String
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
        let (tensors, format) = try WeightImport.readTensors(url)
        let kind = model.model.kind
        let found = WeightImport.shapes(of: tensors, kind: kind)
        let channels = found.channels ?? 3
        let classCount = classes ?? found.classes ?? 1000
        let stemKernel = tensors.first { $0.name == WeightImport.stemKey(kind) }?.tensor.shape.last
        var options = model
        // torchvision's ResNets show their ImageNet stem by its 7×7 kernel; MobileNetV2's stems differ only in
        // stride, so its weights are taken as torchvision's (ImageNet stem)
        if stemKernel == 7 || model.model == .mobilenetv2 { options.imageNetStem = true }
        let size = imageSize ?? ((options.imageNetStem || model.model == .vitB16) ? 224 : 32)
        let architecture = options.architecture(classCount: classCount, inputChannels: channels, imageSize: size)
        let network = try architecture.build(generator: Generator(seed: 0))
        let (loaded, reinitialized) = try WeightImport.load(tensors, into: network,
                                                            reinitializeClassifier: newHead || found.classes != classCount)
        let normalization = try inputNormalization(channels: channels)
        try folder.create()
        try ModelFile.save(network, to: folder.importedModelURL,
                           normalization: InputNormalization(mean: normalization.mean, std: normalization.std))
        let report = WeightImport.Report(source: url.path, format: format, tensorsInFile: tensors.count, loaded: loaded,
                                         reinitialized: reinitialized, fileClassCount: found.classes,
                                         fileInputChannels: found.channels, normalization: normalization, imageSize: size)
        try AtomicFile.writeJSON(report, to: folder.importReportURL)
        if runtime.json {
            try printJSON(report)
        } else {
            print("imported \(loaded) tensors of \(url.lastPathComponent) (\(format)) into \(architecture.label)"
                  + (reinitialized.isEmpty ? "" : "; \(reinitialized.joined(separator: ", ")) re-initialized for \(classCount) classes"))
            print("input: \(channels) channel(s), \(size)×\(size), normalization \(normalization)")
            print("next: lacoot train --run-dir \(runDirectory) [data and training flags]")
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
