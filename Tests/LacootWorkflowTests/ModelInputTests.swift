import Datasets
import Foundation
import LaCoOT
@testable import LacootWorkflow
import Models
import NN
import Testing
import Torch

/// A model file records the input it takes, and data is prepared to fit it.
@Suite struct ModelInputTests {
    /// The manifest records the input shape it is given, and its MACs at that size.
    @Test func theManifestRecordsTheInputShapeAndItsCost() throws {
        let model = try tinyModel()
        let url = try temporaryFolder().appendingPathComponent("m.safetensors")
        let manifest = try ModelFile.save(model, to: url, inputShape: [1, 64, 64])
        #expect(manifest.inputShape == [1, 64, 64] && manifest.inputSide == 64)
        #expect(manifest.macs == (try model.cost(height: 64).totalMACs))
        #expect(manifest.macs ?? 0 > (try model.cost(height: 32).totalMACs) * 3)
        #expect(try ModelFile.manifest(at: url).inputShape == [1, 64, 64])
        #expect(try ModelManifest(describing: model).inputShape == [1, 32, 32])
        #expect(throws: ModelError.self) { try ModelManifest(describing: model, inputShape: [3, 64, 64]) }
    }

    /// Sizes not given become the model's; a given one must be it; channels and normalization
    /// are the model's.
    @Test func dataIsConfiguredForTheModel() throws {
        var manifest = ModelManifest(architecture: try tinyModel().architecture)
        manifest.inputShape = [1, 64, 64]
        manifest.normalization = InputNormalization(mean: [0.25], std: [0.5])
        var base = DataConfig()
        base.padTo = nil
        let config = try ModelInput.dataConfig(base, for: manifest, source: "m")
        #expect(config.padTo == 64 && config.imageSize == 64 && config.channels == 1)
        #expect(config.normalization == Normalization(mean: [0.25], std: [0.5]))
        base.padTo = 32
        #expect(throws: ModelInputError.sizeFlag(flag: "pad-to", given: 32, side: 64, source: "m")) {
            try ModelInput.dataConfig(base, for: manifest, source: "m")
        }
        base.padTo = 64
        base.imageSize = 48
        #expect(throws: ModelInputError.sizeFlag(flag: "image-size", given: 48, side: 64, source: "m")) {
            try ModelInput.dataConfig(base, for: manifest, source: "m")
        }
    }

    /// Prepared data of another size or class count is refused, naming the model file.
    @Test func dataOfAnotherSizeOrClassCountIsRefused() throws {
        var manifest = ModelManifest(architecture: try tinyModel().architecture)
        manifest.inputShape = [1, 32, 32]
        let images = try tinyData(count: 16)
        let data = PreparedData(train: images, validation: images, test: images, normalization: tinyNormalization, label: "tiny")
        try ModelInput.check(data, against: manifest, source: "m")
        manifest.inputShape = [1, 16, 16]
        #expect(throws: ModelInputError.imageSize(side: 16, height: 32, width: 32, dataset: "tiny", source: "m")) {
            try ModelInput.check(data, against: manifest, source: "m")
        }
        manifest.inputShape = [1, 32, 32]
        manifest.architecture.classCount = 10
        let error = #expect(throws: ModelInputError.self) { try ModelInput.check(data, against: manifest, source: "m") }
        #expect(error?.isUsage == true && error?.description.contains("--classes 4") == true, "\(String(describing: error))")
    }

    /// A folder imported before model files recorded their size: import.json's size and
    /// normalization are what the imported model takes.
    @Test func anImportedFolderTakesWhatImportWasTold() throws {
        let folder = RunFolder(url: try temporaryFolder())
        #expect(!ImportedModel.isImported(folder))
        try ModelFile.save(try tinyModel(), to: folder.importedModelURL)   // nominal 32
        let report = WeightImport.Report(source: "w.pth", format: "torch.save", tensorsInFile: 1, loaded: 1, reinitialized: [],
                                         fileClassCount: 4, fileInputChannels: 1,
                                         normalization: Normalization(mean: [0.1], std: [0.2]), imageSize: 48)
        try JSONEncoder().encode(report).write(to: folder.importReportURL)
        #expect(ImportedModel.isImported(folder))
        let imported = try ImportedModel.open(folder)
        #expect(imported.manifest.inputShape == [1, 48, 48])
        #expect(imported.manifest.normalization == InputNormalization(mean: [0.1], std: [0.2]))
    }
}
