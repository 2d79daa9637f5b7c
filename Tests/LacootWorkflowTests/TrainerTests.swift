import Datasets
import Foundation
import LaCoOT
import LacootRecords
@testable import LacootWorkflow
import LacootSupport
import Models
import NN
import Optim
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

    /// `--distance optimized` warm-starts each block's direction from the previous step: a run
    /// stopped mid-epoch resumes bit-identically because the directions are in the checkpoint.
    @Test func theOptimizedDistanceResumesBitIdentically() throws {
        var config = tinyConfig(epochs: 2)
        config.regularizer.distance = .optimized
        config.regularizer.ascentSteps = 2
        let straight = try train(epochs: 2, folder: nil, config: config).0
        let folder = RunFolder(url: try temporaryFolder())
        let token = CancellationToken()
        token.cancel()   // stops after the first step, with a checkpoint
        #expect(throws: TrainingError.self) { try train(epochs: 2, folder: folder, config: config, cancellation: token) }
        let saved = try TrainingCheckpoint.load(from: folder.checkpointURL)
        #expect(saved.regularizer.map(\.name) == ["warm_start.layer1.1", "warm_start.layer2.1", "warm_start.layer3.1",
                                                   "warm_start.layer4.1"])
        let (resumed, _) = try train(epochs: 2, folder: folder, resume: true, config: config)
        #expect(try weights(of: resumed) == weights(of: straight))
    }

    /// Channels-last (the default layout) and NCHW compute the same training step: the loss
    /// agrees to float tolerance and every parameter's gradient agrees within a bound derived
    /// from the float error of one step. The two layouts run different oneDNN kernels (and
    /// different ones again on a CPU with native bf16), which sum in other orders: the last
    /// bits differ, and over a multi-epoch trajectory SGD amplifies them chaotically, so only
    /// one step is compared. A real layout bug (a wrong permutation, a missed conversion) moves
    /// gradients by their own size, 10⁴ times the bound. (With λ > 0 the distance flattens
    /// channels-last features in memory order, the same in law —
    /// `RegularizerTests.channelsLastDistanceIsAPermutationOfTheNCHWOne`.)
    @Test func channelsLastComputesTheSameStepAsNCHW() throws {
        let generator = try Generator(seed: 11)
        let images = try Tensor.randn([16, 1, 32, 32], generator: generator)
        let labels = try Tensor.randint(low: 0, high: 4, shape: [16], generator: generator)
        func oneStep(channelsLast: Bool) throws -> (loss: Double, gradients: [String: [Float]]) {
            var config = tinyConfig(epochs: 1, lambda: 0)
            config.execution.channelsLast = channelsLast
            let model = try tinyModel(seed: 1)
            let trainer = try Trainer(model: model, config: config, normalization: tinyNormalization)
            let result = try trainer.step(images: images, labels: labels, fractionalEpoch: 0)
            var gradients: [String: [Float]] = [:]
            for parameter in model.namedParameters() {
                gradients[parameter.name] = try parameter.tensor.grad.map { try $0.contiguous().floats() }
            }
            return (result.loss, gradients)
        }
        let a = try oneStep(channelsLast: true), b = try oneStep(channelsLast: false)
        // float32: ε ≈ 1.2e-7; a loss of ~1.4 summed over 16 samples differs by a few ε.
        #expect(abs(a.loss - b.loss) <= 1e-5 * max(1, abs(b.loss)), "\(a.loss) vs \(b.loss)")
        #expect(a.gradients.keys.sorted() == b.gradients.keys.sorted())
        #expect(a.gradients.count > 40, "every parameter has a gradient")
        // Each gradient entry is a sum over up to 16·32·32 terms, which the two layouts add in other
        // orders (≈ ε·√terms of relative error), and a ReLU or max-pool input within rounding of
        // a kink may take the other branch on one side, moving one term by its full size. So
        // each tensor is compared as a whole: ‖Δ‖₂ ≤ 1e-3·‖g‖₂ (a layout bug gives ~1).
        for (name, ga) in a.gradients {
            guard let gb = b.gradients[name] else { continue }
            let norm = gb.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            let diff = zip(ga, gb).reduce(0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
            #expect(diff <= 1e-3 * norm + 1e-9, "\(name): ‖Δ‖ \(diff), ‖g‖ \(norm)")
        }
    }

    @Test func aDivergingRunStopsWithAClearErrorAndKeepsTheLastCheckpoint() throws {
        var config = tinyConfig(epochs: 3)
        config.optimizer.learningRate = 1e12
        config.optimizer.momentum = 0
        let folder = RunFolder(url: try temporaryFolder())
        do {
            _ = try train(epochs: 3, folder: folder, config: config)
            Issue.record("a learning rate of 1e12 did not diverge")
        } catch let error as TrainingError {
            guard case .nonFiniteLoss = error else { Issue.record("unexpected \(error)"); return }
            #expect(error.description.contains("not finite"))
        }
    }

    /// A BatchNorm statistic gone NaN leaves the training loss finite (training mode uses the
    /// batch's statistics) but must not be checkpointed: the run stops naming it and the last
    /// good checkpoint stays.
    @Test func nonFiniteStateIsNeverCheckpointed() throws {
        let folder = RunFolder(url: try temporaryFolder())
        let model = try tinyModel(seed: 1)
        let trainer = try Trainer(model: model, config: tinyConfig(epochs: 2), normalization: tinyNormalization)
        trainer.showProgress = false
        trainer.log = { _ in }
        trainer.onEpoch = { metrics in
            guard metrics.epoch == 1, let mean = model.stateDict().first(where: { $0.name == "bn1.running_mean" }) else { return }
            try withNoGrad { try mean.tensor.fill_(Double.nan) }
        }
        let error = #expect(throws: TrainingError.self) {
            try trainer.fit(train: try tinyData(count: 48), validation: nil, runFolder: folder)
        }
        #expect(error?.description.contains("bn1.running_mean holds NaN") == true, "\(String(describing: error))")
        #expect(try TrainingCheckpoint.load(from: folder.checkpointURL).epoch == 1)
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

@Suite struct TransferTrainingTests {
    /// Frozen prefixes keep their weights through a step while the rest moves; a prefix that
    /// names nothing is a configuration error naming --freeze; the head's learning rate applies
    /// to the classifier only.
    @Test func freezingAndAFasterHead() throws {
        let model = try ResNet(.resNet18, classCount: 3, inputChannels: 1, width: 4, generator: Generator(seed: 31))
        var config = TrainingConfig()
        config.regularizer.lambda = 0
        config.augmentation = .none
        config.optimizer.frozen = ["conv1", "layer1"]
        config.optimizer.headLearningRate = 1
        config.optimizer.learningRate = 0.01
        config.schedule.kind = .constant
        let trainer = try Trainer(model: model, config: config, normalization: .unit(channels: 1))
        let before = Dictionary(uniqueKeysWithValues: try model.namedParameters().map { ($0.name, try $0.tensor.floats()) })
        let g = try Generator(seed: 32)
        _ = try trainer.step(images: Tensor.randn([8, 1, 32, 32], generator: g),
                             labels: Tensor.randint(low: 0, high: 3, shape: [8], generator: g), fractionalEpoch: 0)
        for (name, tensor) in model.namedParameters() {
            let changed = try tensor.floats() != before[name]!
            if name.hasPrefix("conv1.") || name.hasPrefix("layer1.") {
                #expect(!changed, "\(name) moved while frozen")
            } else if name == "fc.weight" || name == "layer4.1.conv2.weight" {
                #expect(changed, "\(name) did not move")
            }
        }
        config.optimizer.frozen = ["layer9"]
        let error = #expect(throws: ConfigurationError.self) { try Trainer(model: model, config: config, normalization: .unit(channels: 1)) }
        #expect(error?.flag == "freeze")
    }
}
