import Foundation
import LaCoOT
import Models
import Torch

/// Knowledge distillation (Hinton et al. 2015) from a frozen teacher: the loss adds
/// `weight · T² · KL(softmax(teacher / T) ‖ softmax(student / T))` (mean over the batch) to the
/// cross-entropy. In `compress` the teacher is the model itself, frozen at the block selection
/// (``Trainer/teacher``): while the chosen blocks fade on their identity path, the rest of the
/// network is pulled toward what the whole network computed, not only toward the labels.
public struct Distillation: Codable, Sendable, Equatable {
    /// The distillation term's weight beside the cross-entropy.
    public var weight: Double
    /// The softmax temperature T.
    public var temperature: Double

    public init(weight: Double = 1, temperature: Double = 2) {
        self.weight = weight
        self.temperature = temperature
    }

    /// Checks the fields; errors name the CLI flag.
    public func validate() throws {
        guard weight > 0, weight <= 1e3 else {
            throw ConfigurationError.outOfRange(flag: "distill", problem: "must be in (0, 1000], got \(weight)")
        }
        guard temperature > 0, temperature <= 100 else {
            throw ConfigurationError.outOfRange(flag: "distill-temperature", problem: "must be in (0, 100], got \(temperature)")
        }
    }

    /// The distillation term for `student` and `teacher` logits [N, classes] (float32).
    public func loss(student: Tensor, teacher: Tensor) throws -> Tensor {
        let t = temperature
        let target = try Functional.softmax(teacher / t, dim: 1)
        let divergence = try target * (Functional.logSoftmax(teacher / t, dim: 1) - Functional.logSoftmax(student / t, dim: 1))
        return try divergence.sum(dims: [1]).mean() * (weight * t * t)
    }
}
