import Foundation

/// A batch assembled on the CPU before it becomes tensors: normalized float pixels
/// `[count, C, H, W]`, labels, and the dataset indices the samples came from.
public struct HostBatch: Sendable {
    /// `count * C * H * W` floats, NCHW, normalized.
    public var images: [Float]
    /// One label per sample.
    public var labels: [Int64]
    /// The dataset index of each sample, in batch order.
    public var indices: [Int]
    /// `[count, C, H, W]`.
    public var shape: [Int]
    /// The true number of samples (the last batch may be short).
    public var count: Int { labels.count }
}

/// Everything needed to build the batches of one epoch, as a value that can cross threads.
struct EpochPlan: Sendable {
    let dataset: ImageDataset
    let order: [Int]
    /// Each sample's position in the epoch's global order (its augmentation key).
    let positions: [Int]
    let batchSize: Int
    let batchCount: Int
    let augmentation: Augmentation
    let tables: [[Float]]
    let seed: UInt64
    let epoch: Int

    /// The augmentation draw for the sample at `position` of this epoch's order: a function of
    /// (seed, epoch, position) only, so batching and prefetching don't change it.
    static func draw(augmentation: Augmentation, seed: UInt64, epoch: Int, position: Int, height: Int,
                     width: Int) -> Augmentation.Draw {
        if augmentation.isIdentity { return .identity }
        var g = SeededGenerator(seed: seed, stream: 0x4155_474D, UInt64(epoch), UInt64(position)) // "AUGM"
        return augmentation.draw(using: &g, height: height, width: width)
    }

    /// Builds batch `b` of the epoch.
    func batch(_ b: Int) -> HostBatch {
        let start = b * batchSize
        let end = min(start + batchSize, order.count)
        let n = end - start
        let c = dataset.channels, h = dataset.height, w = dataset.width
        let per = c * h * w
        var images = [Float](repeating: 0, count: n * per)
        var labels = [Int64](repeating: 0, count: n)
        let indices = Array(order[start..<end])
        dataset.pixels.withUnsafeBufferPointer { pixels in
            images.withUnsafeMutableBufferPointer { out in
                guard let src = pixels.baseAddress, let dst = out.baseAddress else { return }
                for k in 0..<n {
                    let i = indices[k]
                    labels[k] = dataset.labels[i]
                    let d = EpochPlan.draw(augmentation: augmentation, seed: seed, epoch: epoch, position: positions[start + k],
                                           height: h, width: w)
                    EpochPlan.fill(dst + k * per, from: src + i * per, channels: c, height: h, width: w, draw: d, tables: tables)
                }
            }
        }
        return HostBatch(images: images, labels: labels, indices: indices, shape: [n, c, h, w])
    }

    /// Writes one augmented, normalized image: the fused form of `Augmentation.apply` followed by
    /// the normalization lookup (a zero-padded pixel is the byte 0, as in torchvision).
    @inline(__always)
    static func fill(_ dst: UnsafeMutablePointer<Float>, from src: UnsafePointer<UInt8>, channels: Int, height: Int, width: Int,
                     draw: Augmentation.Draw, tables: [[Float]]) {
        if let region = draw.region {
            fillResized(dst, from: src, channels: channels, height: height, width: width, region: region, flip: draw.flip,
                        tables: tables)
            return
        }
        for ch in 0..<channels {
            tables[ch].withUnsafeBufferPointer { lut in
                let zero = lut[0]
                let plane = ch * height * width
                for y in 0..<height {
                    let row = dst + plane + y * width
                    let sy = y + draw.offsetY
                    guard sy >= 0, sy < height else {
                        row.update(repeating: zero, count: width)
                        continue
                    }
                    let srow = src + plane + sy * width
                    if !draw.flip {
                        // Source columns x + dx must be in 0..<width.
                        let lo = max(0, -draw.offsetX), hi = min(width, width - draw.offsetX)
                        if lo > 0 { row.update(repeating: zero, count: min(lo, width)) }
                        if hi < width { (row + max(hi, 0)).update(repeating: zero, count: width - max(hi, 0)) }
                        if lo < hi {
                            for x in lo..<hi { row[x] = lut[Int(srow[x + draw.offsetX])] }
                        }
                    } else {
                        for x in 0..<width {
                            let sx = width - 1 - x + draw.offsetX
                            row[x] = (sx >= 0 && sx < width) ? lut[Int(srow[sx])] : zero
                        }
                    }
                }
            }
        }
    }
}

extension EpochPlan {
    /// The resized crop's fused form: `region` resized bilinearly to the image's size (rounded
    /// to bytes as `Augmentation.apply` does), mirrored if `flip`, then normalized.
    static func fillResized(_ dst: UnsafeMutablePointer<Float>, from src: UnsafePointer<UInt8>, channels: Int, height: Int,
                            width: Int, region: Augmentation.Region, flip: Bool, tables: [[Float]]) {
        for ch in 0..<channels {
            tables[ch].withUnsafeBufferPointer { lut in
                let plane = src + ch * height * width, out = dst + ch * height * width
                for y in 0..<height {
                    for x in 0..<width {
                        let byte = Augmentation.bilinear(plane, width: width, region: region, outHeight: height,
                                                         outWidth: width, y: y, x: flip ? width - 1 - x : x)
                        out[y * width + x] = lut[Int(byte)]
                    }
                }
            }
        }
    }
}

/// A bounded queue between one producer thread and the consumer, with cancellation.
final class PrefetchQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [HostBatch] = []
    private var finished = false
    private var cancelled = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Producer side: blocks while full; returns false if the consumer has gone.
    func push(_ batch: HostBatch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        items.append(batch)
        condition.broadcast()
        return true
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Consumer side: the next batch, or nil when the epoch is over.
    func pop() -> HostBatch? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !finished { condition.wait() }
        if items.isEmpty { return nil }
        let batch = items.removeFirst()
        condition.broadcast()
        return batch
    }

    func cancel() {
        condition.lock()
        cancelled = true
        items.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}

/// The host batches of one epoch, in order, built on a background thread up to `prefetch`
/// batches ahead of the consumer (or on the consumer's thread when `prefetch` is 0). Stopping
/// early (dropping the iterator) stops the producer.
public struct HostBatchSequence: Sequence, Sendable {
    let plan: EpochPlan
    let prefetch: Int

    /// The number of batches.
    public var underestimatedCount: Int { plan.batchCount }

    public func makeIterator() -> Iterator { Iterator(plan: plan, prefetch: prefetch) }

    /// Iterates the batches of an epoch; owns the producer thread.
    public final class Iterator: IteratorProtocol {
        let plan: EpochPlan
        let queue: PrefetchQueue?
        var nextIndex = 0

        init(plan: EpochPlan, prefetch: Int) {
            self.plan = plan
            if prefetch > 0 && plan.batchCount > 0 {
                let queue = PrefetchQueue(capacity: prefetch)
                self.queue = queue
                let thread = Thread {
                    for b in 0..<plan.batchCount {
                        if queue.isCancelled { break }
                        let batch = plan.batch(b)
                        if !queue.push(batch) { break }
                    }
                    queue.finish()
                }
                thread.name = "lacoot.data.prefetch"
                thread.start()
            } else {
                queue = nil
            }
        }

        deinit { queue?.cancel() }

        public func next() -> HostBatch? {
            if let queue { return queue.pop() }
            guard nextIndex < plan.batchCount else { return nil }
            defer { nextIndex += 1 }
            return plan.batch(nextIndex)
        }
    }
}
