import Torch

/// One batch as tensors: `images` float32 `[count, C, H, W]` (normalized, augmented for
/// training), `labels` int64 `[count]`, and `count`, the true number of samples (the last batch
/// of an epoch may be short).
public struct Batch: Sendable {
    public let images: Tensor
    public let labels: Tensor
    public let count: Int
    /// The dataset index of each sample, in batch order.
    public let indices: [Int]

    /// Copies a host batch into tensors.
    public init(_ host: HostBatch) throws {
        images = try Tensor(host.images, shape: host.shape)
        labels = try Tensor(host.labels, shape: [host.count])
        count = host.count
        indices = host.indices
    }
}

/// The batches of one epoch as tensors (see `Loader.batches(epoch:)`).
public struct BatchSequence: Sequence, Sendable {
    let host: HostBatchSequence

    public var underestimatedCount: Int { host.underestimatedCount }

    public func makeIterator() -> Iterator { Iterator(host: host.makeIterator()) }

    /// Yields tensor batches; a batch that cannot become tensors (out of memory) ends the
    /// epoch and leaves the error in `error`.
    public struct Iterator: IteratorProtocol {
        let host: HostBatchSequence.Iterator
        /// Set if converting a batch to tensors failed; iteration stops there.
        public private(set) var error: TorchError?

        /// The next batch, throwing instead of stopping when it cannot become tensors.
        public mutating func nextBatch() throws -> Batch? {
            guard let h = host.next() else { return nil }
            return try Batch(h)
        }

        public mutating func next() -> Batch? {
            guard error == nil, let h = host.next() else { return nil }
            do {
                return try Batch(h)
            } catch let e as TorchError {
                error = e
                return nil
            } catch {
                self.error = TorchError("\(error)")
                return nil
            }
        }
    }
}

extension Loader {
    /// Runs `body` on every batch of epoch `epoch`, rethrowing its errors and any failure to
    /// build tensors.
    public func forEachBatch(epoch: Int, _ body: (Batch) throws -> Void) throws {
        var it = batches(epoch: epoch).makeIterator()
        while let batch = try it.nextBatch() { try body(batch) }
    }
}
