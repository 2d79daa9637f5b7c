import Foundation
import LaCoOT
import LacootWorkflow
import Models
import NN
import Torch

/// The Swift side of the ResNet-18 workloads, built the way the PyTorch worker builds its own
/// (`Benchmarks/reference/worker.py`): CIFAR stem with max-pool, 3 input channels, 10 classes,
/// fixed random data (seed 1), SGD lr 0.1, momentum 0.9, weight decay 1e-4, training mode.
final class ResNetTrainStep {
    let model: ResNet
    let optimizer: SGD
    let x: Tensor
    let y: Tensor
    let batch: Int

    init(width: Int = 64, batch: Int = 128, channelsLast: Bool = false) throws {
        self.batch = batch
        model = try ResNet(.resNet18, classCount: 10, inputChannels: 3, width: width, generator: Generator(seed: 0))
        if channelsLast { try model.setMemoryFormat(.channelsLast) }
        model.train()
        let g = try Generator(seed: 1)
        let images = try Tensor.randn([batch, 3, 32, 32], generator: g)
        x = channelsLast ? try images.contiguous(.channelsLast) : images
        y = try Tensor.randint(low: 0, high: 10, shape: [batch], generator: g)
        optimizer = try SGD(lr: 0.1, momentum: 0.9, weightDecay: 1e-4)
        optimizer.attach(to: model)
    }

    /// zero_grad(set_to_none) → forward → cross-entropy → backward → SGD step; returns the loss.
    @discardableResult
    func step(images: Tensor? = nil, labels: Tensor? = nil) throws -> Double {
        try optimizer.zeroGrad()
        let logits = try model(images ?? x)
        let loss = try Functional.crossEntropy(logits, target: labels ?? y)
        try loss.backward()
        try optimizer.step()
        return try loss.item()
    }

    /// Timed steps on the fixed batch (seconds each).
    func time(reps: Int, warmup: Int) throws -> [Double] {
        try timeReps(reps: reps, warmup: warmup) { try step() }
    }
}

/// Eval-mode inference of ResNet-18 (as the worker's `latency` command): no grad, removed
/// blocks collapsed to the identity.
final class ResNetInference {
    let model: ResNet
    let x: Tensor

    init(width: Int = 64, batch: Int, removed: [String] = [], channelsLast: Bool = false) throws {
        model = try ResNet(.resNet18, classCount: 10, inputChannels: 3, width: width, generator: Generator(seed: 0))
        if !removed.isEmpty { try model.collapse(removed) }
        if channelsLast { try model.setMemoryFormat(.channelsLast) }
        model.eval()
        let images = try Tensor.randn([batch, 3, 32, 32], generator: Generator(seed: 1))
        x = channelsLast ? try images.contiguous(.channelsLast) : images
    }

    func time(reps: Int, warmup: Int) throws -> [Double] {
        try timeReps(reps: reps, warmup: warmup) { try withNoGrad { _ = try model(x) } }
    }
}

/// Named sides of an interleaved comparison.
struct Side {
    let name: String
    let run: (_ reps: Int, _ warmup: Int) throws -> [Double]
}

/// `interleaved` over named sides; returns the samples by side name.
func interleaved(rounds: Int, perRound: Int, warmup: Int, sides: [Side]) throws -> [String: [Double]] {
    let samples = try interleaved(rounds: rounds, perRound: perRound, warmup: warmup, sides.map(\.run))
    var out: [String: [Double]] = [:]
    for (side, s) in zip(sides, samples) { out[side.name] = s }
    return out
}

/// A LaCoOT training step written the way a user plugs the regularizer into their own loop
/// (and as `Trainer` does): forward observing the collapsible blocks, cross-entropy +
/// λ · mean block distance, backward, SGD step. λ = 0 runs the plain forward.
final class LaCoOTTrainStep {
    let base: ResNetTrainStep
    let regularizer: LaCoOTRegularizer
    let lambda: Double

    init(width: Int = 64, batch: Int = 128, channelsLast: Bool = false, lambda: Double,
         mode: DistanceMode = .reference) throws {
        base = try ResNetTrainStep(width: width, batch: batch, channelsLast: channelsLast)
        self.lambda = lambda
        regularizer = try LaCoOTRegularizer(model: base.model, lambda: lambda,
                                            distance: SlicedWasserstein(mode: mode, projectionCount: 50), seed: 0)
    }

    @discardableResult
    func step() throws -> Double {
        try base.optimizer.zeroGrad()
        var events: [BlockEvent] = []
        let logits = lambda > 0 ? try base.model.forward(base.x) { events.append($0) } : try base.model(base.x)
        let ce = try Functional.crossEntropy(logits, target: base.y)
        let loss = lambda > 0 ? try ce + regularizer.penalty(events, epoch: 0).loss : ce
        try loss.backward()
        try base.optimizer.step()
        return try loss.item()
    }

    func time(reps: Int, warmup: Int) throws -> [Double] {
        try timeReps(reps: reps, warmup: warmup) { try step() }
    }
}
