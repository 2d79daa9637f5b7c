import Foundation
import LacootRecords

/// Running sums of one epoch (saved in a mid-epoch checkpoint on Ctrl-C).
struct PartialEpoch: Codable {
    var steps = 0
    var samples = 0
    var lossSum = 0.0
    var crossEntropySum = 0.0
    var regularizerSum = 0.0
    var correct = 0
    var lambda = 0.0
    /// Training seconds of this epoch before the run was resumed.
    var secondsBefore = 0.0

    mutating func add(_ r: Trainer.StepResult, count: Int) {
        steps += 1
        samples += count
        lossSum += r.loss * Double(count)
        crossEntropySum += r.crossEntropy * Double(count)
        regularizerSum += r.regularizer * Double(count)
        correct += r.correct
        lambda = r.lambda
    }

    var status: String {
        guard samples > 0 else { return "" }
        let n = Double(samples)
        return String(format: "loss %.3f acc %.1f%%", lossSum / n, 100 * Double(correct) / n)
            + (regularizerSum > 0 ? String(format: " λ·MSW %.3f", regularizerSum / n) : "")
    }

    func metrics(epoch: Int, learningRate: Double, validationAccuracy: Double?, distances: [BlockDistance],
                 seconds: Double) -> EpochMetrics {
        let n = Double(max(samples, 1))
        return EpochMetrics(epoch: epoch, learningRate: learningRate, lambda: lambda, trainLoss: lossSum / n,
                            trainCrossEntropy: crossEntropySum / n, trainRegularizer: regularizerSum / n,
                            trainAccuracy: 100 * Double(correct) / n, validationAccuracy: validationAccuracy,
                            validationDistances: distances, seconds: seconds,
                            imagesPerSecond: seconds > 0 ? Double(samples) / seconds : 0)
    }
}
