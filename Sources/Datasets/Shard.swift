/// The part of an epoch one of `count` data-parallel processes reads, by PyTorch's
/// `DistributedSampler` rules: the seeded order is padded by repeating its start until its
/// length is a multiple of `count` (no sample is dropped), and process `rank` takes the
/// positions `rank, rank + count, rank + 2·count, …`. With the per-process batch size
/// B ÷ count, step k of every process together covers positions [k·B, (k+1)·B) of the order —
/// the global batch a single process with batch B takes at step k. Each sample keeps the
/// augmentation drawn for its global position.
public struct Shard: Sendable, Equatable, Codable {
    public let rank: Int
    public let count: Int

    public init(rank: Int, count: Int) {
        self.rank = rank
        self.count = count
    }

    /// The whole epoch (one process).
    public static let whole = Shard(rank: 0, count: 1)

    /// Samples per process per epoch: ⌈samples ÷ count⌉.
    public func length(of samples: Int) -> Int { (samples + count - 1) / count }

    /// This shard's indices of `order` and their positions in the padded global order.
    public func select(_ order: [Int]) -> (indices: [Int], positions: [Int]) {
        guard count > 1, !order.isEmpty else { return (order, Array(order.indices)) }
        let total = length(of: order.count) * count
        let positions = Array(stride(from: rank, to: total, by: count))
        return (positions.map { order[$0 % order.count] }, positions)
    }
}
