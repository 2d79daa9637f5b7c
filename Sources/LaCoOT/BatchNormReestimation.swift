import Datasets
import Models
import NN
import Torch

/// Recomputes the running statistics of every BatchNorm layer of a (collapsed) model on
/// training images — a statistics pass, not finetuning: no gradient, no weight changes.
///
/// Removing a block changes the distribution the following BatchNorm layers see; their
/// running mean and variance, estimated on the full network, are then slightly off. This
/// pass resets them and averages the batch statistics of `maxImages` images (cumulative
/// average, as PyTorch's `momentum=None`), the rest of the network in evaluation mode.
///
/// ```swift
/// try model.collapse(["layer1.1", "layer4.1"])
/// try BatchNormReestimation.run(on: model, images: split.train, normalization: .fashionMNIST)
/// ```
public enum BatchNormReestimation {
    /// The number of BatchNorm layers of `model`.
    public static func layerCount(of model: any CollapsibleModel) -> Int {
        model.namedModules().filter { $0.module is BatchNorm2d }.count
    }

    /// Copies of every BatchNorm layer's running statistics, to put back with ``restore(_:in:)``
    /// (a re-estimation tried and undone).
    public static func snapshot(of model: any CollapsibleModel) throws -> [Tensor] {
        try statistics(of: model).map { try $0.clone() }
    }

    /// Puts back statistics taken by ``snapshot(of:)`` from the same model.
    public static func restore(_ snapshot: [Tensor], in model: any CollapsibleModel) throws {
        let current = statistics(of: model)
        precondition(current.count == snapshot.count, "a snapshot of another model")
        try withNoGrad { for (target, saved) in zip(current, snapshot) { try target.copy_(saved) } }
    }

    /// The running mean, variance and batch count of every BatchNorm layer, in order.
    private static func statistics(of model: any CollapsibleModel) -> [Tensor] {
        model.namedModules().compactMap { $0.module as? BatchNorm2d }
            .flatMap { [$0.runningMean, $0.runningVar, $0.batchesTracked].compactMap { $0 } }
    }

    /// Re-estimates the statistics on the first `maxImages` images of `images` (no
    /// augmentation; a seeded random `maxImages` when the images are grouped by class). A model
    /// without BatchNorm is left as it is. Returns the images used.
    @discardableResult
    public static func run(on model: any CollapsibleModel, images: ImageDataset, normalization: Normalization,
                           maxImages: Int = 4_096, batchSize: Int = 128) throws -> Int {
        let layers = model.namedModules().compactMap { $0.module as? BatchNorm2d }.filter(\.tracksRunningStats)
        guard !layers.isEmpty else { return 0 }
        let count = min(maxImages, images.count)
        guard count > 0 else { throw CollapseError.emptyDataset(dataset: images.name, task: "re-estimate BatchNorm statistics") }
        // images grouped by class (folders): a random subset, not the first classes alone
        let subset = try images.limited(to: count)
        let loader = try Loader.evaluation(dataset: subset, batchSize: batchSize, normalization: normalization)
        let wasTraining = model.isTraining
        let momenta = layers.map(\.momentum)
        model.eval()
        defer {
            for (layer, momentum) in zip(layers, momenta) { layer.momentum = momentum }
            model.train(wasTraining)
        }
        for layer in layers {
            try layer.resetRunningStatistics()
            layer.momentum = nil
            layer.train(true)
        }
        let device = model.device
        try withNoGrad {
            try loader.forEachBatch(epoch: 0) { batch in
                let onDevice = try batch.images.to(device)
                let x = model.memoryFormat == .channelsLast ? try onDevice.contiguous(.channelsLast) : onDevice
                _ = try model(x)
            }
        }
        return count
    }
}
