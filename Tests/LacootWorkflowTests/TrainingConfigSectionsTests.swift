import Foundation
import LaCoOT
@testable import LacootWorkflow
import Testing

/// config.json's training part in sections (optimizer, schedule, regularizer, execution):
/// written and read back, files from before the sections read into them, each section's
/// checks naming the flag.
@Suite struct TrainingConfigSectionsTests {
    /// The training part of a config.json that `lacoot compress` wrote before the sections
    /// (a Swin-T run of the previous round, verbatim).
    static let flatFile = #"""
        {"adaptiveLambda": {"epsilon": 0.02, "identityPath": {"shape": "linear"}, "initialLambda": 0.5, "maximumLambda": 5,
         "minimumLambda": 0.01, "reachFraction": 0.85, "selection": "ablation", "selectionFraction": 0.7, "smoothing": 0.9,
         "targetMACs": 0.5, "timeConstant": 0.08}, "ascentSteps": 5, "augmentation": {"cropPadding": 4, "operations": "crop,flip"},
         "batchSize": 128, "channelsLast": true, "distance": "reference", "epochs": 2, "frozen": [], "gamma": 0.1,
         "gradientClipNorm": 1, "labelSmoothing": 0.1, "lambda": 0.5, "lambdaWarmupEpochs": 0, "learningRate": 0.001,
         "milestones": [], "momentum": 0.9, "nesterov": false, "optimizer": "adamw", "p": 2, "precision": "fp32",
         "projections": 50, "schedule": "cosine", "seed": 0, "tap": "output", "warmupEpochs": 1, "weightDecay": 0.05,
         "weightDecayScope": "weights", "zeroInitResidual": false}
        """#

    @Test func aFileFromBeforeTheSectionsReadsIntoThem() throws {
        let config = try JSONDecoder().decode(TrainingConfig.self, from: Data(Self.flatFile.utf8))
        #expect(config.epochs == 2 && config.batchSize == 128 && config.labelSmoothing == 0.1)
        #expect(config.optimizer.kind == .adamw && config.optimizer.learningRate == 0.001)
        #expect(config.optimizer.weightDecay == 0.05 && config.optimizer.weightDecayScope == .weights)
        #expect(config.optimizer.gradientClipNorm == 1)
        #expect(config.schedule.kind == .cosine && config.schedule.warmupEpochs == 1)
        #expect(config.regularizer.lambda == 0.5 && config.regularizer.tap == .output)
        #expect(config.regularizer.adaptiveLambda?.selectionFraction == 0.7)
        #expect(config.regularizer.adaptiveLambda?.selection == .ablation)
        #expect(config.execution.channelsLast && config.execution.precision == .fp32)
        // the oldest files: no channelsLast (NCHW was the default then), kinds at the top
        let oldest = try JSONDecoder().decode(TrainingConfig.self,
                                              from: Data(#"{"epochs": 3, "optimizer": "adam", "schedule": "multistep", "milestones": [2]}"#.utf8))
        #expect(!oldest.execution.channelsLast && oldest.optimizer.kind == .adam)
        #expect(oldest.schedule.kind == .multistep && oldest.schedule.milestones == [2])
        // written again, it is in sections and reads back equal
        let text = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        #expect(text.contains("\"regularizer\":{") && text.contains("\"optimizer\":{") && text.contains("\"execution\":{"), "\(text)")
        #expect(try JSONDecoder().decode(TrainingConfig.self, from: Data(text.utf8)) == config)
    }

    @Test func everySectionRoundTripsAndReadsMissingFieldsAsDefaults() throws {
        var config = TrainingConfig()
        config.optimizer.kind = .sgd
        config.optimizer.nesterov = true
        config.optimizer.headLearningRate = 0.5
        config.optimizer.frozen = ["conv1."]
        config.schedule.kind = .multistep
        config.schedule.milestones = [3, 6]
        config.regularizer.lambda = 2
        config.regularizer.blocks = ["layer1.1"]
        config.regularizer.tap = .mlpBranch
        config.execution.precision = .bf16
        config.execution.maxBatchesPerEpoch = 7
        let data = try JSONEncoder().encode(config)
        #expect(try JSONDecoder().decode(TrainingConfig.self, from: data) == config)
        // a section missing a field (an older version's) takes the field's default
        let partial = #"{"epochs": 4, "optimizer": {"kind": "adamw"}, "schedule": {}, "regularizer": {"lambda": 3}, "execution": {}}"#
        let read = try JSONDecoder().decode(TrainingConfig.self, from: Data(partial.utf8))
        #expect(read.optimizer.kind == .adamw && read.optimizer.learningRate == TrainingConfig().optimizer.learningRate)
        #expect(read.regularizer.lambda == 3 && read.regularizer.projections == 50)
        #expect(read.execution.channelsLast, "a sectioned file is from after channels-last became the default")
    }

    @Test func eachSectionsCheckNamesItsFlag() throws {
        func flag(_ change: (inout TrainingConfig) -> Void) -> String? {
            var config = TrainingConfig()
            change(&config)
            do { try config.validate() } catch let ConfigurationError.outOfRange(flag, _) { return flag } catch { return "\(error)" }
            return nil
        }
        #expect(flag { _ in } == nil)
        #expect(flag { $0.optimizer.momentum = 1 } == "momentum")
        #expect(flag { $0.optimizer.headLearningRate = .infinity } == "head-lr")
        #expect(flag { $0.schedule.warmupEpochs = $0.epochs } == "warmup-epochs")
        #expect(flag { $0.schedule.kind = .multistep } == "milestones")
        #expect(flag { $0.regularizer.projections = 0 } == "projections")
        #expect(flag { $0.execution.maxBatchesPerEpoch = 0 } == "max-batches")
        #expect(flag { $0.labelSmoothing = 1 } == "label-smoothing")
    }
}
