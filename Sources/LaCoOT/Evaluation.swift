import Datasets
import Foundation
import LacootReport
import LacootSupport
import Models
import NN
import Torch

/// Accuracy, per-block distances and latency of a model, in eval mode without gradients.
public enum Evaluation {
    /// Top-1 accuracy in percent on `dataset` (every sample, dataset order, no augmentation).
    public static func accuracy(of model: any CollapsibleModel, on dataset: ImageDataset, normalization: Normalization,
                                batchSize: Int = 256, progress: Bool = false, label: String = "evaluate") throws -> Double {
        let loader = try Loader.evaluation(dataset: dataset, batchSize: batchSize, normalization: normalization)
        let meter = ProgressLine(label: label, total: dataset.count, enabled: progress)
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var correct = 0
        var seen = 0
        try withNoGrad {
            try loader.forEachBatch(epoch: 0) { batch in
                let logits = try model(batch.images)
                correct += Int(try logits.argmax(dim: 1).eq(batch.labels).sum().item())
                seen += batch.count
                meter.advance(by: batch.count)
            }
        }
        meter.finish(status: String(format: "accuracy %.2f%%", 100 * Double(correct) / Double(max(seen, 1))))
        guard seen > 0 else { throw CollapseError.emptyDataset(dataset: dataset.name, task: "measure accuracy") }
        return 100 * Double(correct) / Double(seen)
    }

    /// The distance between each active block's input and output on `dataset`, in eval mode,
    /// averaged over batches (weighted by their true size). Directions come from `seed`, so
    /// the scores reproduce.
    public static func blockDistances(of model: any CollapsibleModel, on dataset: ImageDataset,
                                      normalization: Normalization, distance: SlicedWasserstein, seed: UInt64 = 0,
                                      batchSize: Int = 128, maxBatches: Int? = nil,
                                      progress: Bool = false) throws -> [BlockDistance] {
        let loader = try Loader.evaluation(dataset: dataset, batchSize: batchSize, normalization: normalization)
        let regularizer = try LaCoOTRegularizer(model: model, lambda: 0, distance: distance,
                                                blocks: model.activeBlockNames.isEmpty ? nil : model.activeBlockNames,
                                                seed: seed)
        let total = maxBatches.map { min(dataset.count, $0 * batchSize) } ?? dataset.count
        let meter = ProgressLine(label: "score", total: total, enabled: progress)
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var sums: [String: Double] = [:]
        var order: [String] = []
        var samples = 0
        var batches = 0
        try withNoGrad {
            try loader.forEachBatch(epoch: 0) { batch in
                if let maxBatches, batches >= maxBatches { return }
                var events: [BlockEvent] = []
                _ = try model.forward(batch.images) { events.append($0) }
                for event in events {
                    let d = try regularizer.measure(event).item()
                    if sums[event.name] == nil { order.append(event.name) }
                    sums[event.name, default: 0] += d * Double(batch.count)
                }
                samples += batch.count
                batches += 1
                meter.advance(by: batch.count)
            }
        }
        meter.finish()
        guard samples > 0 else { throw CollapseError.emptyDataset(dataset: dataset.name, task: "score blocks") }
        return order.map { BlockDistance(block: $0, distance: sums[$0]! / Double(samples)) }
    }

    /// Median eval-mode forward latency in milliseconds for a batch of `batchSize` inputs of
    /// `inputShape` ([C, H, W]), after `warmup` runs.
    public static func latency(of model: any CollapsibleModel, inputShape: [Int], batchSize: Int,
                               repeats: Int = 10, warmup: Int = 2) throws -> Double {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var x = try Tensor.randn([batchSize] + inputShape, generator: Generator(seed: 1))
        if model.memoryFormat == .channelsLast { x = try x.contiguous(.channelsLast) }
        var times: [Double] = []
        try withNoGrad {
            for i in 0..<(warmup + max(1, repeats)) {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try model(x)
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                if i >= warmup { times.append(elapsed) }
            }
        }
        return median(times)
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
