import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import NN
import Torch

/// Hostile metadata and non-regular files reach NN's readers as typed errors, never a trap or a hang.
@Suite struct NNReliabilityTests {
    /// A FIFO where a safetensors file (a checkpoint, a model) is expected: an error naming it, no wait for a writer.
    @Test func fifoIsNotReadAsSafetensors() throws {
        let fifo = try temporaryDirectory().appendingPathComponent("checkpoint.safetensors")
        #expect(mkfifo(fifo.path, 0o644) == 0)
        #expect(throws: SafetensorsError.unreadable(file: fifo.path, reason: "is a FIFO (named pipe), a regular file was expected")) {
            try Safetensors.read(contentsOf: fifo)
        }
        #expect(throws: SafetensorsError.self) { try Safetensors.readMetadata(contentsOf: fifo.deletingLastPathComponent()) }
    }

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
