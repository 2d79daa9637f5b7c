import Datasets
import Foundation
import LaCoOT
@testable import LacootWorkflow
import Models
import NN
import Torch

/// A tiny ResNet-18 (CIFAR stem, width 4, 1 channel, 4 classes) — cheap enough for tests.
func tinyModel(seed: UInt64 = 0) throws -> ResNet {
    try ResNet(.resNet18, classCount: 4, inputChannels: 1, width: 4, generator: Generator(seed: seed))
}

/// Random 1×32×32 images with 4 classes.
func tinyData(count: Int, seed: UInt64 = 0) throws -> ImageDataset {
    try ImageDataset.synthetic(count: count, channels: 1, height: 32, width: 32, classCount: 4, seed: seed)
}

let tinyNormalization = Normalization(mean: [0.5], std: [0.25])

/// A fresh temporary folder.
func temporaryFolder(_ name: String = "lacoot-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// All parameters and buffers as flat arrays, by key.
func weights(of model: Module) throws -> [String: [Float]] {
    var out: [String: [Float]] = [:]
    for (name, t) in model.stateDict() where t.dtype == .float32 { out[name] = try t.floats() }
    return out
}

/// A small, fast training configuration.
func tinyConfig(epochs: Int = 2, lambda: Double = 1) -> TrainingConfig {
    var c = TrainingConfig()
    c.epochs = epochs
    c.batchSize = 16
    c.optimizer.learningRate = 0.05
    c.regularizer.lambda = lambda
    c.regularizer.projections = 8
    c.seed = 3
    return c
}
