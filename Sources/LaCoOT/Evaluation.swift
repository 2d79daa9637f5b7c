import Datasets
import Foundation
import LacootRecords
import LacootSupport
import Models
import NN
import Torch

/// Accuracy, per-block distances and latency of a model, in eval mode without gradients.
public enum Evaluation {
    /// Top-1 accuracy in percent on `dataset` (every sample, dataset order, no augmentation).
    public static func accuracy(of model: any CollapsibleModel, on dataset: ImageDataset, normalization: Normalization,
                                batchSize: Int = 256, precision: Precision = .fp32, progress: Bool = false,
                                label: String = "evaluate") throws -> Double {
        let loader = try Loader.evaluation(dataset: dataset, batchSize: batchSize, normalization: normalization)
        let meter = ProgressLine(label: label, total: dataset.count, enabled: progress)
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let device = model.device
        var correct = 0
        var seen = 0
        try withNoGrad {
            try loader.forEachBatch(epoch: 0) { batch in
                let onDevice = try batch.images.to(device)
                let images = model.memoryFormat == .channelsLast ? try onDevice.contiguous(.channelsLast) : onDevice
                let logits = try withPrecision(precision, device: device) { try model(images) }
                correct += Int(try logits.argmax(dim: 1).eq(batch.labels.to(device)).sum().item())
                seen += batch.count
                meter.advance(by: batch.count)
            }
        }
        meter.finish(status: String(format: "accuracy %.2f%%", 100 * Double(correct) / Double(max(seen, 1))))
        guard seen > 0 else { throw CollapseError.emptyDataset(dataset: dataset.name, task: "measure accuracy") }
        return 100 * Double(correct) / Double(seen)
    }

    /// The distance between each active block's input and output (or the features `tap`
    /// names) on `dataset`, in eval mode,
    /// averaged over batches (weighted by their true size). Directions come from `seed`, so
    /// the scores reproduce.
    public static func blockDistances(of model: any CollapsibleModel, on dataset: ImageDataset,
                                      normalization: Normalization, distance: SlicedWasserstein, tap: FeatureTap = .output,
                                      seed: UInt64 = 0, batchSize: Int = 128, maxBatches: Int? = nil,
                                      progress: Bool = false) throws -> [BlockDistance] {
        let loader = try Loader.evaluation(dataset: dataset, batchSize: batchSize, normalization: normalization)
        let regularizer = try LaCoOTRegularizer(model: model, lambda: 0, distance: distance,
                                                blocks: model.activeBlockNames.isEmpty ? nil : model.activeBlockNames,
                                                tap: tap, seed: seed)
        let total = maxBatches.map { min(dataset.count, $0 * batchSize) } ?? dataset.count
        let meter = ProgressLine(label: "score", total: total, enabled: progress)
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let device = model.device
        var sums: [String: Double] = [:]
        var order: [String] = []
        var samples = 0
        var batches = 0
        try withNoGrad {
            try loader.forEachBatch(epoch: 0) { batch in
                if let maxBatches, batches >= maxBatches { return }
                var events: [BlockEvent] = []
                _ = try model.forward(batch.images.to(device)) { events.append($0) }
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

    /// Eval-mode forward latency: the median and the spread (10th–90th percentile) in
    /// milliseconds over `runs` timed runs.
    public struct LatencyStats: Sendable, Equatable {
        public let medianMs: Double
        public let p10Ms: Double
        public let p90Ms: Double
        public let runs: Int

        /// The median and the 10th/90th percentiles (nearest rank) of timed runs; nil when empty.
        public init?(milliseconds times: [Double]) {
            guard !times.isEmpty else { return nil }
            let sorted = times.sorted()
            func percentile(_ q: Double) -> Double { sorted[Int((Double(sorted.count - 1) * q).rounded())] }
            medianMs = Evaluation.median(sorted)
            p10Ms = percentile(0.1)
            p90Ms = percentile(0.9)
            runs = times.count
        }
    }

    /// Times the eval-mode forward pass of a batch of `batchSize` inputs of `inputShape`
    /// ([C, H, W]) in the model's layout, precision and device. Call it with nothing else of
    /// the process running (no loader thread): it warms up for at least `warmup` runs and
    /// 0.2 s, then times at least `repeats` runs and `minimumSeconds`, at most 10× `repeats`.
    public static func latencyStats(of model: any CollapsibleModel, inputShape: [Int], batchSize: Int,
                                    precision: Precision = .fp32, repeats: Int = 20, warmup: Int = 5,
                                    minimumSeconds: Double = 0.5) throws -> LatencyStats {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let device = model.device
        var x = try Tensor.randn([batchSize] + inputShape, generator: Generator(seed: 1)).to(device)
        if model.memoryFormat == .channelsLast { x = try x.contiguous(.channelsLast) }
        func once() throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try withPrecision(precision, device: device) { try model(x) }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        }
        var times: [Double] = []
        try withNoGrad {
            var spent = 0.0
            var done = 0
            while done < max(1, warmup) || spent < 200 {
                spent += try once()
                done += 1
            }
            var total = 0.0
            let count = max(1, repeats)
            while times.count < count || (total < minimumSeconds * 1000 && times.count < 10 * count) {
                let t = try once()
                times.append(t)
                total += t
            }
        }
        return LatencyStats(milliseconds: times)!   // at least one timed run
    }

    /// Median eval-mode forward latency in milliseconds (see ``latencyStats(of:inputShape:batchSize:precision:repeats:warmup:minimumSeconds:)``).
    public static func latency(of model: any CollapsibleModel, inputShape: [Int], batchSize: Int,
                               repeats: Int = 20, warmup: Int = 5) throws -> Double {
        try latencyStats(of: model, inputShape: inputShape, batchSize: batchSize, repeats: repeats, warmup: warmup).medianMs
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
