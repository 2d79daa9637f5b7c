import Datasets
import Foundation
import LaCoOT
@testable import LacootWorkflow
import LacootReport
import LacootSupport
import Models
import NN
import Testing
import Torch

@Suite(.serialized) struct TrainerTests {
    func train(epochs: Int, folder: RunFolder?, resume: Bool = false, config: TrainingConfig? = nil,
               cancellation: CancellationToken? = nil) throws -> (ResNet, [EpochMetrics]) {
        let model = try tinyModel(seed: 1)
        let trainer = try Trainer(model: model, config: config ?? tinyConfig(epochs: epochs), normalization: tinyNormalization)
        trainer.showProgress = false
        trainer.log = { _ in }
        trainer.cancellation = cancellation
        let data = try tinyData(count: 48)
        let history = try trainer.fit(train: data, validation: try tinyData(count: 8, seed: 1), runFolder: folder,
                                      resume: resume)
        return (model, history)
    }

    @Test func recordsEpochsAndIsReproducible() throws {
        let (a, history) = try train(epochs: 2, folder: nil)
        #expect(history.count == 2)
        #expect(history.allSatisfy { $0.trainRegularizer > 0 && $0.trainCrossEntropy > 0 })
        #expect(history.allSatisfy { abs($0.trainLoss - $0.trainCrossEntropy - $0.trainRegularizer) < 1e-6 })
        #expect(history[0].validationDistances.map(\.block) == ["layer1.1", "layer2.1", "layer3.1", "layer4.1"])
        let (b, _) = try train(epochs: 2, folder: nil)
        #expect(try weights(of: a) == weights(of: b))
    }

    @Test func resumingContinuesExactlyWhereTheRunStopped() throws {
        let straight = try train(epochs: 2, folder: nil).0
        let folder = RunFolder(url: try temporaryFolder())
        // a cancelled token (Ctrl-C) stops after the first step of epoch 1 with a checkpoint;
        // then resume to the end
        let token = CancellationToken()
        token.cancel()
        do {
            _ = try train(epochs: 2, folder: folder, cancellation: token)
            Issue.record("an interrupted run did not stop")
        } catch let error as TrainingError {
            guard case let .interrupted(epoch, step, checkpoint) = error else { Issue.record("unexpected \(error)"); return }
            #expect(epoch == 0 && step == 1)
            #expect(checkpoint == folder.checkpointURL.path)
        }
        #expect(folder.hasCheckpoint)
        let saved = try TrainingCheckpoint.load(from: folder.checkpointURL)
        #expect(saved.epoch == 0)
        #expect(saved.metadata["partial_epoch"]?.contains("\"steps\":1") == true)
        let (resumed, history) = try train(epochs: 2, folder: folder, resume: true)
        #expect(history.count == 2)
        #expect(try folder.readMetrics().count == 2)
        #expect(try weights(of: resumed) == weights(of: straight))
    }

    @Test func aDivergingRunStopsWithAClearErrorAndKeepsTheLastCheckpoint() throws {
        var config = tinyConfig(epochs: 3)
        config.learningRate = 1e12
        config.momentum = 0
        let folder = RunFolder(url: try temporaryFolder())
        do {
            _ = try train(epochs: 3, folder: folder, config: config)
            Issue.record("a learning rate of 1e12 did not diverge")
        } catch let error as TrainingError {
            guard case .nonFiniteLoss = error else { Issue.record("unexpected \(error)"); return }
            #expect(error.description.contains("not finite"))
        }
    }

    @Test func aMismatchedCheckpointIsRefused() throws {
        let folder = RunFolder(url: try temporaryFolder())
        _ = try train(epochs: 1, folder: folder)
        let other = try ResNet(.resNet18, classCount: 4, inputChannels: 1, width: 8, generator: Generator(seed: 0))
        let trainer = try Trainer(model: other, config: tinyConfig(epochs: 2), normalization: tinyNormalization)
        trainer.showProgress = false
        trainer.log = { _ in }
        #expect(throws: (any Error).self) {
            try trainer.fit(train: try tinyData(count: 48), validation: nil, runFolder: folder, resume: true)
        }
    }
}
