import Datasets
import Foundation
@testable import LacootWorkflow
import Testing

/// The augmentation in config.json: written, read back, and older files' `augment` flag.
@Suite struct AugmentationConfigTests {
    private func decode(_ json: String) throws -> TrainingConfig {
        try JSONDecoder().decode(TrainingConfig.self, from: Data(json.utf8))
    }

    @Test func theAugmentationRoundTripsThroughTheConfigFile() throws {
        for augmentation in [Augmentation.none, .standard, .imageNetStyle, Augmentation(cropPadding: 2),
                             Augmentation(horizontalFlip: true), Augmentation(cropPadding: 7, horizontalFlip: true)] {
            var config = TrainingConfig()
            config.augmentation = augmentation
            let data = try JSONEncoder().encode(config)
            let text = String(decoding: data, as: UTF8.self)
            #expect(text.contains("\"operations\":\"\(augmentation.spec)\""), "\(text)")
            let back = try JSONDecoder().decode(TrainingConfig.self, from: data)
            #expect(back.augmentation == augmentation)
            #expect(back == config)
        }
    }

    /// A config.json written before `--augment` existed keeps meaning what it meant: `augment:
    /// true` was crop (padding 4) and flip, `false` none; a file with neither has the default.
    @Test func olderConfigFilesReadAsTheyWereTrained() throws {
        #expect(try decode(#"{"epochs": 3, "augment": true}"#).augmentation == .standard)
        #expect(try decode(#"{"epochs": 3, "augment": false}"#).augmentation == .none)
        #expect(try decode(#"{"epochs": 3}"#).augmentation == .standard)
        #expect(try decode(#"{"augmentation": {"operations": "crop"}}"#).augmentation == Augmentation(cropPadding: 4))
        #expect(throws: DecodingError.self) { try decode(#"{"augmentation": {"operations": "blur,flip"}}"#) }
        var config = TrainingConfig()
        config.augmentation = Augmentation(cropPadding: 2, resizedCrop: true)
        #expect(throws: (any Error).self) { try config.validate() }
        config.augmentation = Augmentation(cropPadding: 65)
        #expect(throws: (any Error).self) { try config.validate() }
    }

    @Test func theSummaryNamesTheAugmentation() {
        var config = TrainingConfig()
        config.augmentation = Augmentation(cropPadding: 2)
        #expect(config.summary.contains("augmentation crop (padding 2)"))
        config.augmentation = .imageNetStyle
        #expect(config.summary.contains("augmentation resized-crop,flip"))
    }
}
