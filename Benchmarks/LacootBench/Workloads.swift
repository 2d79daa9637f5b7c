import Foundation
import LaCoOT
import LacootWorkflow
import Models
import NN
import Torch

/// The Swift side of the ResNet-18 training workloads: `Trainer`'s own step (the one `fit`
/// runs), on a model built the way the PyTorch worker builds its own
/// (`Benchmarks/reference/worker.py`): CIFAR stem with max-pool, 3 input channels, 10 classes,
/// fixed random data (seed 1), SGD lr 0.1, momentum 0.9, weight decay 1e-4, training mode.
/// λ > 0 adds LaCoOT's term over the four `layerX.1` blocks (50 directions, p = 2).
final class ResNetTrainStep {
    let model: ResNet
    let trainer: Trainer
    let x: Tensor
    let y: Tensor
    let batch: Int

    init(width: Int = 64, batch: Int = 128, channelsLast: Bool = false, lambda: Double = 0,
         precision: Precision = .fp32, mode: DistanceMode = .reference) throws {
        self.batch = batch
        model = try ResNet(.resNet18, classCount: 10, inputChannels: 3, width: width, generator: Generator(seed: 0))
        var config = TrainingConfig()
        config.batchSize = batch
        config.optimizer.learningRate = 0.1
        config.optimizer.momentum = 0.9
        config.optimizer.weightDecay = 1e-4
        config.schedule.kind = .constant
        config.regularizer.lambda = lambda
        config.regularizer.distance = mode
        config.regularizer.projections = 50
        config.execution.channelsLast = channelsLast
        config.execution.precision = precision
        trainer = try Trainer(model: model, config: config, normalization: .unit(channels: 3))
        model.train()
        let g = try Generator(seed: 1)
        let images = try Tensor.randn([batch, 3, 32, 32], generator: g)
        x = channelsLast ? try images.contiguous(.channelsLast) : images
        y = try Tensor.randint(low: 0, high: 10, shape: [batch], generator: g)
    }

    /// One `Trainer.step` (zero_grad → forward → loss → backward → SGD); returns the loss.
    @discardableResult
    func step(images: Tensor? = nil, labels: Tensor? = nil) throws -> Double {
        try trainer.step(images: images ?? x, labels: labels ?? y, fractionalEpoch: 0).loss
    }

    /// Timed steps on the fixed batch (seconds each).
    func time(reps: Int, warmup: Int) throws -> [Double] {
        try timeReps(reps: reps, warmup: warmup) { try step() }
    }
}

/// Eval-mode inference of ResNet-18 (as the worker's `latency` command): no grad, removed
/// blocks collapsed to the identity, on the copy `lacoot predict` and `evaluate` run
/// (``Collapser/inferenceCopy(of:inputShape:)``: BatchNorm folded, channels-last) or, with
/// `prepared: false`, on the training model as it is.
final class ResNetInference {
    let model: any CollapsibleModel
    let x: Tensor

    init(width: Int = 64, batch: Int, removed: [String] = [], channelsLast: Bool = false, prepared: Bool = true) throws {
        let network = try ResNet(.resNet18, classCount: 10, inputChannels: 3, width: width, generator: Generator(seed: 0))
        if !removed.isEmpty { try network.collapse(removed) }
        if channelsLast { try network.setMemoryFormat(.channelsLast) }
        network.eval()
        model = prepared ? try Collapser.inferenceCopy(of: network, inputShape: [3, 32, 32]) : network
        let images = try Tensor.randn([batch, 3, 32, 32], generator: Generator(seed: 1))
        x = model.memoryFormat == .channelsLast ? try images.contiguous(.channelsLast) : images
    }

    func time(reps: Int, warmup: Int) throws -> [Double] {
        try timeReps(reps: reps, warmup: warmup) { try withNoGrad { _ = try model(x) } }
    }
}
