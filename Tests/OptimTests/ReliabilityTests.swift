import Foundation
import NN
@testable import Optim
import Serialization
import Testing
import Torch

private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("optim-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Hostile checkpoint and optimizer state reach Optim's readers as typed errors, never a trap.
@Suite struct OptimReliabilityTests {
    /// A checkpoint whose epoch is negative is refused naming the field.
    @Test func negativeCheckpointEpoch() throws {
        let url = try temporaryDirectory().appendingPathComponent("c.safetensors")
        let model = try Linear(2, 2, generator: Generator(seed: 0))
        try TrainingCheckpoint(model: model, optimizer: nil, scheduler: nil, epoch: -1).save(to: url)
        #expect(throws: SafetensorsError.invalidCheckpoint(file: url.path, key: "epoch",
                                                           problem: "is -1; the epochs completed cannot be negative")) {
            try TrainingCheckpoint.load(from: url)
        }
    }

    /// AdamW state whose step count is negative, fractional, huge or NaN (Int(_:) trapped before).
    @Test func adamWStepCountsAreChecked() throws {
        let p = try Tensor([1, 2, 3] as [Float], shape: [3]).requiresGrad(true)
        let adam = try AdamW(parameters: [("w", p)], lr: 0.01)
        for step in [-1, 0.5, 1e300, .nan, .infinity] {
            let state = OptimizerState(kind: "AdamW", scalars: ["lr": 0.01, "step": step], tensors: [])
            #expect(throws: NNError.self, "step \(step)") { try adam.load(state: state) }
        }
    }
}
