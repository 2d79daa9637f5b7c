import Datasets
import Foundation
@testable import LaCoOT
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
