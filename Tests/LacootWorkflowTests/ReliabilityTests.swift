import Foundation
import LaCoOT
import Testing
@testable import LacootWorkflow
import Models
import NN
import Optim
import Torch

/// The library refuses what the CLI's validate() refuses, and checks checkpoint metadata
/// against the run's configuration.
@Suite struct WorkflowReliabilityTests {
    @Test func trainingConfigRanges() throws {
        var c = TrainingConfig()
        c.epochs = Int.max
        #expect(throws: ConfigurationError.self) { try c.validate() }
        c = TrainingConfig()
        c.regularizer.lambda = 1e19
        #expect(throws: ConfigurationError.self) { try c.validate() }
        c = TrainingConfig()
        c.batchSize = 1 << 40
        #expect(throws: ConfigurationError.self) { try c.validate() }
    }

    @Test func dataConfigRanges() throws {
        var d = DataConfig()
        d.padTo = 4_000_000_000
        #expect(throws: ConfigurationError.outOfRange(flag: "pad-to", problem: "must be in 1...4096, got 4000000000")) {
            try PreparedData.prepare(d)
        }
    }

    @Test func threadCountRange() throws {
        #expect(throws: TorchError.self) { try Runtime.setThreadCount(2_147_483_648) }
    }

    /// Epochs outside 0...epochs and partial epochs past the epoch's batches name the file and field.
    @Test func checkpointProgressIsChecked() throws {
        func checkpoint(epoch: Int, partialSteps: Int? = nil) -> TrainingCheckpoint {
            var meta: [String: String] = [:]
            if let partialSteps {
                var p = PartialEpoch()
                p.steps = partialSteps
                meta["partial_epoch"] = String(decoding: try! JSONEncoder().encode(p), as: UTF8.self)
            }
            return TrainingCheckpoint(model: [], optimizer: nil, schedule: nil, epoch: epoch, generators: [:],
                                      configuration: "{}", metadata: meta)
        }
        func reason(_ c: TrainingCheckpoint) -> String? {
            do {
                _ = try Trainer.progress(of: c, file: "ck.safetensors", epochs: 3, stepsPerEpoch: 10)
                return nil
            } catch let TrainingError.checkpointMismatch(file, reason) {
                #expect(file == "ck.safetensors")
                return reason
            } catch {
                return "\(error)"
            }
        }
        #expect(reason(checkpoint(epoch: 99))?.contains("invalid epoch") == true)
        #expect(reason(checkpoint(epoch: -1))?.contains("invalid epoch") == true)
        #expect(reason(checkpoint(epoch: 1, partialSteps: 11))?.contains("invalid partial_epoch") == true)
        #expect(reason(checkpoint(epoch: 1, partialSteps: 10)) == nil)   // stopped on the epoch's last step
        #expect(reason(checkpoint(epoch: 3, partialSteps: 0))?.contains("invalid partial_epoch") == true)
        #expect(reason(checkpoint(epoch: 3)) == nil)
        #expect(reason(checkpoint(epoch: 1, partialSteps: 9)) == nil)
        #expect(try Trainer.progress(of: checkpoint(epoch: 1, partialSteps: 4), file: "f", epochs: 3, stepsPerEpoch: 10).skipSteps == 4)
    }
}
