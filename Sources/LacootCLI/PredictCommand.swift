import ArgumentParser
import Datasets
import Foundation
import LacootWorkflow
import Models
import Torch

/// `lacoot predict`: class probabilities of images under a trained or collapsed model.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify PNG/JPEG images with a trained run or a collapsed model.",
        discussion: """
        Each image is decoded with the model's channel count, brought to its input size (zero-padded and centred when smaller, as training padded 28×28 to 32×32; otherwise resized on its shorter side and centre-cropped, as torchvision's eval transform), normalized with the model's statistics and classified in batches; results are printed batch by batch, and only one batch of images is held in memory. A file that cannot be read or decoded is named on stderr, the others are still classified, and the exit status is 1.

        --json prints {"predictions":[{"file":…,"top":[{"class":…,"index":…,"probability":…}, …]}, …]}, and "errors":[{"file":…,"error":…}] when a file failed.

        Example:
          lacoot predict --model runs/demo/lambda-1/collapsed.json shoe.png --top 3
          lacoot predict --run-dir runs/a --folder photos/ --json
        """
    )

    @Argument(help: "Image files (PNG or JPEG).") var images: [String] = []
    @Option(name: .customLong("run-dir"), help: "A run folder made by `lacoot train` (its trained model) or by `lacoot import` (the imported model).")
    var runDirectory: String?
    @Option(name: .long, help: "A model file: collapsed.json, or a .safetensors written by lacoot.") var model: String?
    @Option(name: .long, help: "Also classify every .png/.jpg/.jpeg file of this folder (sorted by name).") var folder: String?
    @Option(name: .long, help: "Classes to show per image.") var top = 5
    @Option(name: .customLong("batch-size"), help: "Images per forward pass.") var batchSize = 64
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard (runDirectory == nil) != (model == nil) else { throw ValidationError("give either --run-dir or --model") }
        guard !images.isEmpty || folder != nil else { throw ValidationError("name images to classify, or --folder") }
        try Bounds.check(top, "top", in: 1...100_000)
        try Bounds.check(batchSize, "batch-size", in: Bounds.batchSize)
    }

    /// One file that could not be classified, in `--json`'s `errors`.
    struct Failed: Encodable { let file: String; let error: String }

    /// Classifies batch by batch, printing each batch's results as they come (`--json`: one
    /// object streamed); a file that cannot be read or decoded is named on stderr and the others
    /// are still classified, then the exit status is 1.
    func run() throws {
        try runtime.apply()
        let predictor = try makePredictor()
        var files = images
        if let folder { files += try imagesInFolder(folder) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var failed: [Failed] = [], printed = 0
        if runtime.json { print("{\"predictions\":[", terminator: "") }
        try predictor.predict(files: files, top: top, batchSize: batchSize) { outcome in
            switch outcome {
            case let .failure(failure):
                printError("error: \(failure)")
                failed.append(Failed(file: failure.file, error: failure.description))
            case let .success(p) where runtime.json:
                print((printed > 0 ? "," : "") + String(decoding: try encoder.encode(p), as: UTF8.self), terminator: "")
                printed += 1
            case let .success(p):
                let classes = p.top.map { String(format: "%@ %.1f %%", $0.class, $0.probability * 100) }.joined(separator: ", ")
                print("\(p.file): \(classes)")
            }
        }
        if runtime.json {
            print("]" + (failed.isEmpty ? "" : ",\"errors\":" + String(decoding: try encoder.encode(failed), as: UTF8.self)) + "}")
        }
        if !failed.isEmpty { throw ExitCode(1) }
    }

    private func makePredictor() throws -> Predictor {
        if let runDirectory { return try ModelSource.open(runDirectory: runDirectory, log: runtime.log) }
        return try ModelSource.open(modelFile: model ?? "", log: runtime.log)
    }

    private func imagesInFolder(_ path: String) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: path)
        let images = names.filter { ["png", "jpg", "jpeg"].contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
        guard !images.isEmpty else { throw ValidationError("--folder \(path) holds no .png, .jpg or .jpeg file") }
        return images.sorted().map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
    }
}
