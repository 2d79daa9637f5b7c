import Datasets
import Foundation
import Testing

/// The augmentation each dataset gets by default, `--augment`'s parsing, and the resized crop.
@Suite struct AugmentationDefaultsTests {
    /// The images a loader produced, unnormalized back to bytes, by dataset index.
    private func outputs(of loader: Loader, epoch: Int, dataset: ImageDataset, normalization: Normalization)
        -> [(index: Int, position: Int, bytes: [UInt8])] {
        var result: [(Int, Int, [UInt8])] = []
        let per = dataset.channels * dataset.height * dataset.width, plane = dataset.height * dataset.width
        var position = 0
        for batch in loader.hostBatches(epoch: epoch) {
            for (k, i) in batch.indices.enumerated() {
                let bytes = (0..<per).map { j -> UInt8 in
                    let c = j / plane
                    let v = (batch.images[k * per + j] * normalization.std[c] + normalization.mean[c]) * 255
                    return UInt8(max(0, min(255, v.rounded())))
                }
                result.append((i, position, bytes))
                position += 1
            }
        }
        return result
    }

    /// Whether `output` is `image` shifted by some offset within `padding`, unmirrored.
    private func isUnmirroredShift(_ output: [UInt8], of image: [UInt8], padding: Int, height: Int, width: Int) -> Bool {
        for dy in -padding...padding {
            for dx in -padding...padding
            where Augmentation.apply(.init(offsetY: dy, offsetX: dx), to: image, channels: 1, height: height, width: width) == output {
                return true
            }
        }
        return false
    }

    /// MNIST's default, applied by the loader over several epochs, never mirrors a digit: every
    /// output is the image shifted by at most 2 pixels. The same check catches the flips of the
    /// crop-and-flip default (so it would fail if MNIST's default flipped).
    @Test func theMNISTDefaultNeverFlips() throws {
        let (h, w) = (10, 10)
        let dataset = try ImageDataset.synthetic(count: 40, channels: 1, height: h, width: w, seed: 5)
        let normalization = Normalization(mean: [0.5], std: [0.5])
        let mnist = Augmentation.default(for: .mnist)
        #expect(!mnist.horizontalFlip && !mnist.resizedCrop && mnist.cropPadding == 2)
        let loader = try Loader(dataset: dataset, batchSize: 16, shuffle: true, augmentation: mnist,
                                normalization: normalization, seed: 7, prefetch: 0)
        var shifted = 0
        for epoch in 0..<4 {
            for (i, _, bytes) in outputs(of: loader, epoch: epoch, dataset: dataset, normalization: normalization) {
                let image = Array(dataset.image(at: i))
                #expect(isUnmirroredShift(bytes, of: image, padding: 2, height: h, width: w), "image \(i), epoch \(epoch)")
                if bytes != image { shifted += 1 }
            }
        }
        #expect(shifted > 100, "the crop moves most images (\(shifted) of 160)")
        // the check has teeth: crop + flip (Fashion-MNIST's default) yields mirrored outputs it rejects
        let flipping = try Loader(dataset: dataset, batchSize: 16, shuffle: true, augmentation: .default(for: .fashionMNIST),
                                  normalization: normalization, seed: 7, prefetch: 0)
        let mirrored = outputs(of: flipping, epoch: 0, dataset: dataset, normalization: normalization).filter {
            !isUnmirroredShift($0.bytes, of: Array(dataset.image(at: $0.index)), padding: 4, height: h, width: w)
        }
        #expect(mirrored.count > 5, "\(mirrored.count) of 40 mirrored")
    }

    /// The table of defaults in the README is the code's: every dataset appears once, with the
    /// operations and padding `Augmentation.default(for:)` gives.
    @Test func eachDatasetsDefaultIsTheDocumentedOne() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        guard let start = text.range(of: "| dataset | default `--augment` |") else {
            Issue.record("README.md has no augmentation defaults table")
            return
        }
        var documented: [String: String] = [:]
        for line in text[start.upperBound...].split(separator: "\n").dropFirst(2) {   // the header's end, the rule
            guard line.hasPrefix("|") else { break }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2 else { continue }
            for name in cells[0].split(separator: ",") {
                documented[name.trimmingCharacters(in: CharacterSet(charactersIn: " `"))] = cells[1]
            }
        }
        #expect(Set(documented.keys) == Set(DatasetKind.allCases.map(\.rawValue)), "\(documented.keys.sorted())")
        for kind in DatasetKind.allCases {
            let a = Augmentation.default(for: kind)
            let expected = "`\(a.spec)`" + (a.cropPadding > 0 ? " (padding \(a.cropPadding))" : "")
            #expect(documented[kind.rawValue] == expected, "\(kind.rawValue): README says \(documented[kind.rawValue] ?? "nothing"), code \(expected)")
        }
    }

    @Test func parsesTheListsAndRefusesTheRest() throws {
        #expect(try Augmentation(parsing: "none") == .none)
        #expect(try Augmentation(parsing: "crop,flip") == .standard)
        #expect(try Augmentation(parsing: " flip , crop ", cropPadding: 2) == Augmentation(cropPadding: 2, horizontalFlip: true))
        #expect(try Augmentation(parsing: "resized-crop,flip") == .imageNetStyle)
        #expect(try Augmentation(parsing: "flip").spec == "flip")
        #expect(Augmentation.imageNetStyle.spec == "resized-crop,flip" && Augmentation.none.spec == "none")
        for spec in ["crop,flip", "crop", "flip", "none", "resized-crop,flip", "resized-crop"] {
            #expect(try Augmentation(parsing: spec).spec == spec)
        }
        for bad in ["", "blur", "crop,resized-crop", "flip,flip", "crop,,flip"] {
            #expect(throws: DataError.self, "\(bad)") { try Augmentation(parsing: bad) }
        }
        #expect(throws: DataError.self) { try Augmentation(parsing: "crop", cropPadding: 0) }
        let ds = try ImageDataset.synthetic(count: 4, channels: 1, height: 8, width: 8, seed: 1)
        #expect(throws: DataError.self) {
            try Loader(dataset: ds, batchSize: 2, augmentation: Augmentation(cropPadding: 2, resizedCrop: true),
                       normalization: .unit(channels: 1))
        }
    }

    /// torchvision's law: the region lies in the image, covers 8–100 % of its area with an
    /// aspect ratio in [3/4, 4/3] (up to the rounding of its sides), and varies; an image too
    /// thin for any try falls back to its centre.
    @Test func resizedCropRegionsFollowTorchvisionsLaw() {
        var g = SeededGenerator(seed: 9)
        let (h, w) = (48, 64)
        var areas: [Double] = []
        for _ in 0..<2_000 {
            let r = Augmentation.imageNetStyle.draw(using: &g, height: h, width: w).region!
            #expect(r.top >= 0 && r.left >= 0 && r.top + r.height <= h && r.left + r.width <= w)
            let area = Double(r.height * r.width) / Double(h * w)
            let ratio = Double(r.width) / Double(r.height)
            let slack = 1.0 / Double(min(r.width, r.height))   // one pixel of rounding on each side
            #expect(area >= 0.08 * (1 - 2 * slack) - 1e-9 && area <= 1)
            #expect(ratio >= 0.75 * (1 - 2 * slack) && ratio <= (4.0 / 3.0) * (1 + 2 * slack), "\(r)")
            areas.append(area)
        }
        let mean = areas.reduce(0, +) / Double(areas.count)
        #expect(mean > 0.38 && mean < 0.5, "mean area \(mean)")   // torchvision's law at 48×64: 0.44
        #expect(Set(areas).count > 200)
        let thin = Augmentation.imageNetStyle.draw(using: &g, height: 1, width: 64).region!
        #expect(thin == Augmentation.Region(top: 0, left: 31, height: 1, width: 1), "\(thin)")
    }

    /// The loader's fused resized crop equals the obvious one (bilinear resize of the region,
    /// rounded to bytes, mirrored, then normalized), and a full-image region is the identity.
    @Test func resizedCropBatchesMatchTheDrawsAndNormalization() throws {
        let (c, h, w) = (3, 12, 9)
        let ds = try ImageDataset.synthetic(count: 10, channels: c, height: h, width: w, seed: 3)
        let norm = Normalization.imageNet
        let loader = try Loader(dataset: ds, batchSize: 4, shuffle: true, augmentation: .imageNetStyle, normalization: norm,
                                seed: 5, prefetch: 1)
        var position = 0, regions = Set<[Int]>()
        let per = c * h * w
        for batch in loader.hostBatches(epoch: 2) {
            for (k, i) in batch.indices.enumerated() {
                let d = loader.draw(epoch: 2, position: position)
                let region = try #require(d.region)
                regions.insert([region.top, region.left, region.height, region.width])
                let expected = Augmentation.apply(d, to: Array(ds.image(at: i)), channels: c, height: h, width: w)
                for j in 0..<per {
                    let ch = j / (h * w)
                    #expect(abs(batch.images[k * per + j] - (Float(expected[j]) / 255 - norm.mean[ch]) / norm.std[ch]) < 1e-6)
                }
                position += 1
            }
        }
        #expect(position == 10 && regions.count > 5)
        let image = Array(try ImageDataset.synthetic(count: 1, channels: 1, height: 5, width: 7, seed: 8).image(at: 0))
        let whole = Augmentation.Draw(region: .init(top: 0, left: 0, height: 5, width: 7))
        #expect(Augmentation.apply(whole, to: image, channels: 1, height: 5, width: 7) == image)
        // a 1×1 region fills the image with that pixel
        let one = Augmentation.Draw(region: .init(top: 2, left: 3, height: 1, width: 1))
        #expect(Augmentation.apply(one, to: image, channels: 1, height: 5, width: 7).allSatisfy { $0 == image[2 * 7 + 3] })
    }
}
