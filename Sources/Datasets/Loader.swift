/// Batches a dataset for training or evaluation: a fresh order per epoch from a seeded
/// generator (when `shuffle`), augmentation drawn per sample from `(seed, epoch, position)`,
/// normalization, `dropLast`, and a background thread building up to `prefetch` batches ahead.
///
/// Iterating the loader itself (`for batch in loader`) runs the next epoch each time; use
/// `batches(epoch:)` to run a given one. The same seed gives the same batches, bit for bit,
/// whatever the prefetch depth.
///
/// ```swift
/// let train = try Loader(dataset: split.train, batchSize: 128, shuffle: true, dropLast: true,
///                        augmentation: .standard, normalization: .cifar10, seed: 0)
/// for epoch in 0..<30 { for batch in train.batches(epoch: epoch) { … batch.images, batch.labels … } }
/// ```
public final class Loader: Sequence {
    /// The samples.
    public let dataset: ImageDataset
    /// Samples per batch (the last one may be shorter unless `dropLast`).
    public let batchSize: Int
    /// Whether each epoch visits the samples in a new random order.
    public let shuffle: Bool
    /// Whether a last batch shorter than `batchSize` is left out (training only).
    public let dropLast: Bool
    /// The augmentation applied to every sample (use `.none` for evaluation).
    public let augmentation: Augmentation
    /// The normalization applied to every sample.
    public let normalization: Normalization
    /// The seed of the shuffles and augmentation draws.
    public let seed: UInt64
    /// How many batches the background thread builds ahead; 0 builds them on the caller's thread.
    public let prefetch: Int
    /// The part of each epoch's order this process reads (data-parallel training).
    public let shard: Shard
    /// The epoch the next `for batch in loader` runs.
    public private(set) var nextEpoch: Int = 0

    /// A loader; throws `DataError.invalidArgument` for a non-positive batch size, a negative
    /// prefetch, or a normalization whose channel count differs from the dataset's.
    public init(dataset: ImageDataset, batchSize: Int, shuffle: Bool = false, dropLast: Bool = false,
                augmentation: Augmentation = .none, normalization: Normalization, seed: UInt64 = 0,
                prefetch: Int = 2, shard: Shard = .whole) throws {
        guard shard.count > 0, (0..<shard.count).contains(shard.rank) else {
            throw DataError.invalidArgument("shard \(shard.rank) of \(shard.count) does not exist")
        }
        guard batchSize > 0 else { throw DataError.invalidArgument("batch size must be positive, got \(batchSize)") }
        guard prefetch >= 0 else { throw DataError.invalidArgument("prefetch must be ≥ 0, got \(prefetch)") }
        guard normalization.mean.count == dataset.channels, normalization.std.count == dataset.channels else {
            throw DataError.invalidArgument("normalization has \(normalization.mean.count) channel(s), \(dataset.name) has \(dataset.channels)")
        }
        guard normalization.std.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw DataError.invalidArgument("normalization std must be positive, got \(normalization.std)")
        }
        guard augmentation.cropPadding >= 0 else {
            throw DataError.invalidArgument("crop padding must be ≥ 0, got \(augmentation.cropPadding)")
        }
        guard !(augmentation.resizedCrop && augmentation.cropPadding > 0) else {
            throw DataError.invalidArgument("augmentation: crop and resized-crop exclude each other")
        }
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.augmentation = augmentation
        self.normalization = normalization
        self.seed = seed
        self.prefetch = prefetch
        self.shard = shard
        self.tables = (0..<dataset.channels).map { normalization.table(channel: $0) }
    }

    /// An evaluation loader: dataset order, no augmentation, every sample (no `dropLast`).
    public static func evaluation(dataset: ImageDataset, batchSize: Int, normalization: Normalization,
                                  prefetch: Int = 2) throws -> Loader {
        try Loader(dataset: dataset, batchSize: batchSize, shuffle: false, dropLast: false, augmentation: .none,
                   normalization: normalization, seed: 0, prefetch: prefetch)
    }

    private let tables: [[Float]]

    /// Samples this process visits per epoch before batching: the whole dataset, or a
    /// shard's ⌈count ÷ shards⌉.
    public var epochLength: Int { shard.length(of: dataset.count) }

    /// Batches per epoch.
    public var batchCount: Int {
        dropLast ? epochLength / batchSize : (epochLength + batchSize - 1) / batchSize
    }

    /// Samples per epoch (`epochLength`, less the dropped tail with `dropLast`).
    public var sampleCount: Int { dropLast ? batchCount * batchSize : epochLength }

    /// The order in which epoch `epoch` visits the dataset's indices.
    public func order(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<dataset.count) }
        var g = SeededGenerator(seed: seed, stream: 0x5348_5546, UInt64(truncatingIfNeeded: epoch)) // "SHUF"
        return g.permutation(dataset.count)
    }

    /// The augmentation draw of the sample at `position` of epoch `epoch`.
    public func draw(epoch: Int, position: Int) -> Augmentation.Draw {
        EpochPlan.draw(augmentation: augmentation, seed: seed, epoch: epoch, position: position, height: dataset.height,
                       width: dataset.width)
    }

    func plan(epoch: Int) -> EpochPlan {
        let (indices, positions) = shard.select(order(epoch: epoch))
        return EpochPlan(dataset: dataset, order: indices, positions: positions, batchSize: batchSize, batchCount: batchCount,
                         augmentation: augmentation, tables: tables, seed: seed, epoch: epoch)
    }

    /// The batches of epoch `epoch` as host arrays (no tensors): what the benchmark and tests
    /// read, and what `batches(epoch:)` converts.
    public func hostBatches(epoch: Int) -> HostBatchSequence {
        HostBatchSequence(plan: plan(epoch: epoch), prefetch: prefetch)
    }

    /// The batches of epoch `epoch`, as tensors.
    public func batches(epoch: Int) -> BatchSequence {
        BatchSequence(host: hostBatches(epoch: epoch))
    }

    /// Starts the next epoch (`nextEpoch`, then increments it).
    public func makeIterator() -> BatchSequence.Iterator {
        let e = nextEpoch
        nextEpoch += 1
        return batches(epoch: e).makeIterator()
    }

    /// Sets the epoch the next `for batch in loader` runs (e.g. when resuming).
    public func setNextEpoch(_ epoch: Int) { nextEpoch = epoch }
}
