import Foundation
import Testing
@testable import Datasets
import Torch

@Suite struct SplitTests {
    @Test func splitIsDisjointSeededAndSized() throws {
        let ds = try Fixture.indexed(count: 103)
        let a = try ds.split(seed: 0)
        #expect(a.validation.count == 10 && a.train.count == 93)
        #expect(Set(a.trainIndices).isDisjoint(with: a.validationIndices))
        #expect(Set(a.trainIndices).union(a.validationIndices) == Set(0..<103))
        // The parts hold the right samples (image i is filled with byte i).
        #expect(a.validation.pixels == a.validationIndices.flatMap { Array(repeating: UInt8($0), count: 4) })
        #expect(a.train.labels == a.trainIndices.map { Int64($0 % 3) })
        let again = try ds.split(seed: 0)
        #expect(again.validationIndices == a.validationIndices)
        let other = try ds.split(seed: 1)
        #expect(other.validationIndices != a.validationIndices)
        let quarter = try ds.split(validationFraction: 0.25, seed: 0)
        #expect(quarter.validation.count == 26)
        #expect(throws: DataError.self) { try ds.split(validationFraction: 1.0) }
    }
}

@Suite struct LoaderTests {
    let unit = Normalization.unit(channels: 1)

    func collect(_ loader: Loader, epoch: Int) -> [HostBatch] { Array(loader.hostBatches(epoch: epoch)) }

    @Test func everySampleOncePerEpochWithShortLastBatch() throws {
        let ds = try Fixture.indexed(count: 23)
        let loader = try Loader(dataset: ds, batchSize: 5, shuffle: true, normalization: unit, seed: 7, prefetch: 2)
        #expect(loader.batchCount == 5)
        for epoch in 0..<2 {
            let batches = collect(loader, epoch: epoch)
            #expect(batches.map(\.count) == [5, 5, 5, 5, 3])
            #expect(batches.last?.shape == [3, 1, 2, 2])
            let seen = batches.flatMap(\.indices)
            #expect(seen.sorted() == Array(0..<23))
            // Content follows the index: image i is byte i, label i % 3.
            for b in batches {
                for (k, i) in b.indices.enumerated() {
                    #expect(b.labels[k] == Int64(i % 3))
                    #expect(b.images[(k * 4)..<(k * 4 + 4)].allSatisfy { $0 == Float(i) / 255 })
                }
            }
        }
        #expect(collect(loader, epoch: 0).flatMap(\.indices) != collect(loader, epoch: 1).flatMap(\.indices))
        #expect(collect(loader, epoch: 1).flatMap(\.indices) == collect(loader, epoch: 1).flatMap(\.indices))
    }

    @Test func dropLastAndEvaluationOrder() throws {
        let ds = try Fixture.indexed(count: 23)
        let train = try Loader(dataset: ds, batchSize: 5, shuffle: true, dropLast: true, normalization: unit, seed: 1)
        let tb = collect(train, epoch: 0)
        #expect(tb.map(\.count) == [5, 5, 5, 5])
        #expect(Set(tb.flatMap(\.indices)).count == 20)
        let eval = try Loader.evaluation(dataset: ds, batchSize: 10, normalization: unit)
        let eb = collect(eval, epoch: 3)
        #expect(eb.map(\.count) == [10, 10, 3])
        #expect(eb.flatMap(\.indices) == Array(0..<23))
    }

    @Test func prefetchDoesNotChangeBatches() throws {
        let ds = try ImageDataset.synthetic(count: 50, channels: 3, height: 8, width: 8, seed: 5)
        let norm = Normalization.computed(from: ds)
        func run(_ prefetch: Int) throws -> [[Float]] {
            let l = try Loader(dataset: ds, batchSize: 8, shuffle: true, augmentation: .standard, normalization: norm,
                               seed: 11, prefetch: prefetch)
            return collect(l, epoch: 2).map(\.images)
        }
        let inline = try run(0)
        #expect(try run(1) == inline)
        #expect(try run(4) == inline)
        #expect(inline.count == 7)
    }

    @Test func stoppingEarlyEndsTheProducer() throws {
        let ds = try ImageDataset.synthetic(count: 400, channels: 3, height: 8, width: 8, seed: 1)
        let loader = try Loader(dataset: ds, batchSize: 4, normalization: .cifar10, prefetch: 2)
        for _ in 0..<20 {
            var n = 0
            for _ in loader.hostBatches(epoch: 0) { n += 1; if n == 3 { break } }
            #expect(n == 3)
        }
    }

    @Test func augmentedBatchesMatchTheDrawsAndNormalization() throws {
        let ds = try ImageDataset.synthetic(count: 12, channels: 3, height: 6, width: 5, seed: 2)
        let norm = Normalization.cifar10
        let loader = try Loader(dataset: ds, batchSize: 5, shuffle: true, augmentation: Augmentation(cropPadding: 2, horizontalFlip: true),
                                normalization: norm, seed: 3, prefetch: 1)
        var position = 0
        var flips = 0, shifted = 0
        for batch in loader.hostBatches(epoch: 4) {
            for (k, i) in batch.indices.enumerated() {
                let d = loader.draw(epoch: 4, position: position)
                if d.flip { flips += 1 }
                if d.offsetX != 0 || d.offsetY != 0 { shifted += 1 }
                #expect(abs(d.offsetX) <= 2 && abs(d.offsetY) <= 2)
                let expected = Augmentation.apply(d, to: Array(ds.image(at: i)), channels: 3, height: 6, width: 5)
                let per = 3 * 6 * 5
                for j in 0..<per {
                    let c = j / 30
                    let want = (Float(expected[j]) / 255 - norm.mean[c]) / norm.std[c]
                    #expect(abs(batch.images[k * per + j] - want) < 1e-6)
                }
                position += 1
            }
        }
        #expect(position == 12)
        #expect(flips > 0 && flips < 12 && shifted > 0)
    }

    @Test func iteratingTheLoaderRunsSuccessiveEpochsAsTensors() throws {
        let ds = try Fixture.indexed(count: 7)
        let loader = try Loader(dataset: ds, batchSize: 4, shuffle: true, normalization: Normalization(mean: [0.5], std: [0.25]), seed: 9)
        var epochs: [[Int]] = []
        for _ in 0..<2 {
            var seen: [Int] = []
            for batch in loader {
                #expect(batch.images.shape == [batch.count, 1, 2, 2])
                #expect(batch.labels.shape == [batch.count])
                #expect(batch.images.dtype == .float32 && batch.labels.dtype == .int64)
                let images = try batch.images.floats()
                let labels = try batch.labels.int64s()
                for (k, i) in batch.indices.enumerated() {
                    #expect(labels[k] == Int64(i % 3))
                    #expect(abs(images[k * 4] - (Float(i) / 255 - 0.5) / 0.25) < 1e-6)
                }
                seen += batch.indices
            }
            #expect(seen.sorted() == Array(0..<7))
            epochs.append(seen)
        }
        #expect(loader.nextEpoch == 2)
        #expect(epochs[0] == loader.order(epoch: 0) && epochs[1] == loader.order(epoch: 1))
        var count = 0
        try loader.forEachBatch(epoch: 0) { count += $0.count }
        #expect(count == 7)
    }

    @Test func rejectsBadArguments() throws {
        let ds = try Fixture.indexed(count: 4)
        #expect(throws: DataError.self) { try Loader(dataset: ds, batchSize: 0, normalization: unit) }
        #expect(throws: DataError.self) { try Loader(dataset: ds, batchSize: 2, normalization: .cifar10) }
        #expect(throws: DataError.self) { try Loader(dataset: ds, batchSize: 2, normalization: unit, prefetch: -1) }
    }
}

@Suite struct AugmentationTests {
    @Test func flipTwiceIsIdentity() {
        let image = Fixture.bytes(3 * 5 * 7, seed: 4)
        let once = Augmentation.flipHorizontally(image, channels: 3, height: 5, width: 7)
        #expect(once != image)
        #expect(once[0] == image[6] && once[6] == image[0])
        #expect(Augmentation.flipHorizontally(once, channels: 3, height: 5, width: 7) == image)
    }

    @Test func cropKeepsShapeAndMovesContentByTheOffset() {
        let (h, w) = (6, 6)
        var image = [UInt8](repeating: 0, count: h * w)
        image[2 * w + 3] = 200 // one bright pixel at (2, 3)
        var g = SeededGenerator(seed: 12)
        let aug = Augmentation(cropPadding: 2)
        var seenOffsets = Set<[Int]>()
        for _ in 0..<40 {
            let d = aug.draw(using: &g)
            seenOffsets.insert([d.offsetY, d.offsetX])
            let out = Augmentation.apply(d, to: image, channels: 1, height: h, width: w)
            #expect(out.count == image.count)
            // The pixel moves to (2 - dy, 3 - dx); everything else is zero (padding or dark).
            let y = 2 - d.offsetY, x = 3 - d.offsetX
            #expect(out[y * w + x] == 200)
            #expect(out.filter { $0 != 0 }.count == 1)
        }
        #expect(seenOffsets.count > 10) // offsets cover the 5×5 range, not one value
        // A full shift by the padding brings in zeros on that side.
        let all = [UInt8](repeating: 9, count: h * w)
        let shifted = Augmentation.apply(.init(offsetY: 0, offsetX: 2), to: all, channels: 1, height: h, width: w)
        #expect(shifted[w - 1] == 0 && shifted[w - 2] == 0 && shifted[w - 3] == 9)
    }

    @Test func generatorIsFixedBySeed() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let xa = (0..<5).map { _ in a.next() }
        #expect(xa == (0..<5).map { _ in b.next() })
        #expect(xa != (0..<5).map { _ in c.next() })
        var g = SeededGenerator(seed: 1)
        #expect(g.permutation(50).sorted() == Array(0..<50))
        var counts = [0, 0, 0]
        for _ in 0..<3000 { counts[g.below(3)] += 1 }
        #expect(counts.allSatisfy { $0 > 900 && $0 < 1100 })
    }
}

@Suite struct LimitTests {
    func dataset(labels: [Int64]) throws -> ImageDataset {
        try ImageDataset(name: "t", pixels: labels.map { UInt8($0) }, labels: labels, channels: 1, height: 1, width: 1,
                         classCount: 3)
    }

    @Test func aLimitOnImagesGroupedByClassKeepsEveryClass() throws {
        let sorted = try dataset(labels: Array(repeating: 0, count: 100) + Array(repeating: 1, count: 100) + Array(repeating: 2, count: 100))
        #expect(sorted.isSortedByClass)
        let limited = try sorted.limited(to: 30, seed: 0)
        #expect(limited.count == 30)
        #expect(Set(limited.labels) == [0, 1, 2])                     // the first 30 would be class 0 alone
        #expect(limited.labels == limited.labels.sorted())           // kept in their order
        #expect(try sorted.limited(to: 30, seed: 0).labels == limited.labels)   // seeded
        #expect(try sorted.limited(to: 300).count == 300)
    }

    @Test func aLimitOnMixedImagesTakesTheFirstOnes() throws {
        let labels: [Int64] = (0..<90).map { Int64($0 % 3) }
        let mixed = try dataset(labels: labels)
        #expect(!mixed.isSortedByClass)
        #expect(try mixed.limited(to: 10).labels == Array(labels.prefix(10)))
    }
}
