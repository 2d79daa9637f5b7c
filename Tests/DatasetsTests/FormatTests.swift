import Foundation
import Testing
@testable import Datasets

@Suite struct FormatTests {
    @Test func readsRawIDX() throws {
        let dir = try TempDir()
        let w = try Fixture.writeMNIST(in: dir, gzip: false)
        let train = try ImageDataset.mnist(directory: dir.path, train: true)
        #expect(train.count == 5)
        #expect(train.imageShape == [1, 3, 4])
        #expect(train.pixels == w.trainPixels)
        #expect(train.labels == w.trainLabels.map(Int64.init))
        let test = try ImageDataset.mnist(directory: dir.path, train: false)
        #expect(test.pixels == w.testPixels)
        #expect(test.labels == [9, 8])
        #expect(test.name == "mnist/test")
    }

    @Test func readsGzippedIDXAsFashionMNIST() throws {
        let dir = try TempDir()
        let w = try Fixture.writeMNIST(in: dir, rows: 28, cols: 28, n: 7, gzip: true)
        let train = try ImageDataset.fashionMNIST(directory: dir.path, train: true)
        #expect(train.imageShape == [1, 28, 28])
        #expect(train.pixels == w.trainPixels)
        #expect(train.labels == w.trainLabels.map(Int64.init))
        #expect(train.classNames.first == "T-shirt/top")
        #expect(Normalization.known(for: train.name) == .fashionMNIST)
        // Reading the IDX array directly (gz detected from content).
        let idx = try IDXArray(contentsOf: dir.url("t10k-labels-idx1-ubyte.gz"))
        #expect(idx.dimensions == [2])
        #expect(idx.bytes == w.testLabels)
    }

    @Test func readsCIFAR10Binary() throws {
        let dir = try TempDir()
        var expectedPixels: [UInt8] = [], expectedLabels: [Int64] = []
        for b in 1...5 {
            var file: [UInt8] = []
            for r in 0..<(b % 2 + 1) { // 2, 1, 2, 1, 2 records
                let label = UInt8((b * 3 + r) % 10)
                let image = Fixture.bytes(3072, seed: UInt64(b * 10 + r))
                file += [label] + image
                expectedPixels += image
                expectedLabels.append(Int64(label))
            }
            try dir.write("cifar-10-batches-bin/data_batch_\(b).bin", file)
        }
        let testImage = Fixture.bytes(3072, seed: 99)
        try dir.write("cifar-10-batches-bin/test_batch.bin", [7] + testImage)
        try dir.write("cifar-10-batches-bin/batches.meta.txt",
                      Array("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n".utf8))
        // Given the parent folder: the batches folder is found inside.
        let train = try ImageDataset.cifar10(directory: dir.path, train: true)
        #expect(train.count == 8)
        #expect(train.imageShape == [3, 32, 32])
        #expect(train.pixels == expectedPixels)
        #expect(train.labels == expectedLabels)
        #expect(train.classNames[9] == "truck")
        let test = try ImageDataset.cifar10(directory: dir.url("cifar-10-batches-bin"), train: false)
        #expect(test.pixels == testImage)
        #expect(test.labels == [7])
    }

    @Test func readsCIFAR100FineAndCoarse() throws {
        let dir = try TempDir()
        var file: [UInt8] = []
        var images: [UInt8] = []
        let pairs: [(UInt8, UInt8)] = [(3, 99), (19, 0), (0, 42)]
        for (k, (coarse, fine)) in pairs.enumerated() {
            let image = Fixture.bytes(3072, seed: UInt64(200 + k))
            file += [coarse, fine] + image
            images += image
        }
        try dir.write("cifar-100-binary/train.bin", file)
        let fine = try ImageDataset.cifar100(directory: dir.path, train: true)
        #expect(fine.classCount == 100)
        #expect(fine.labels == [99, 0, 42])
        #expect(fine.pixels == images)
        let coarse = try ImageDataset.cifar100(directory: dir.url("cifar-100-binary"), train: true, labels: .coarse)
        #expect(coarse.classCount == 20)
        #expect(coarse.labels == [3, 19, 0])
        #expect(coarse.pixels == images)
    }

    @Test func pngRoundTripsExactly() throws {
        for channels in [1, 3] {
            let image = Fixture.pattern(width: 5, height: 3, channels: channels, salt: channels)
            let decoded = try ImageCodec.decode(try ImageCodec.encodePNG(image), channels: channels)
            #expect(decoded == image)
        }
        // Gray decoded as RGB replicates the channel.
        let gray = Fixture.pattern(width: 2, height: 2, channels: 1, salt: 5)
        let rgb = try ImageCodec.decode(try ImageCodec.encodePNG(gray), channels: 3)
        #expect(rgb.pixels == gray.pixels.flatMap { [$0, $0, $0] })
    }

    @Test func readsPNGAndJPEGFolders() throws {
        let dir = try TempDir()
        // Class "a": two PNGs; class "b": a gray JPEG (flat 8x8 blocks: exact at quality 100)
        // and a PNG. Gray images, 16x16.
        let a0 = Fixture.pattern(width: 16, height: 16, channels: 1, salt: 1)
        let a1 = Fixture.pattern(width: 16, height: 16, channels: 1, salt: 2)
        let b0 = Fixture.blocks(width: 16, height: 16, channels: 1, salt: 3)
        let b1 = Fixture.pattern(width: 16, height: 16, channels: 1, salt: 4)
        try dir.write("folder/a/0.png", try ImageCodec.encodePNG(a0))
        try dir.write("folder/a/1.PNG", try ImageCodec.encodePNG(a1))
        try dir.write("folder/a/notes.txt", Array("not an image".utf8))
        try dir.write("folder/b/0.jpg", try ImageCodec.encodeJPEG(b0, quality: 100))
        try dir.write("folder/b/1.png", try ImageCodec.encodePNG(b1))
        let ds = try ImageDataset.imageFolder(directory: dir.url("folder"), channels: 1)
        #expect(ds.count == 4)
        #expect(ds.classNames == ["a", "b"])
        #expect(ds.labels == [0, 0, 1, 1])
        #expect(ds.imageShape == [1, 16, 16])
        #expect(ds.pixels == a0.pixels + a1.pixels + b0.pixels + b1.pixels)
    }

    /// A folder dataset whose test split has other class folders than its training split is
    /// refused, naming both folders and the classes each has alone (labels are positions).
    @Test func folderSplitsMustShareTheirClasses() throws {
        let dir = try TempDir()
        let image = try ImageCodec.encodePNG(Fixture.pattern(width: 8, height: 8, channels: 1, salt: 5))
        for path in ["d/train/cat/0.png", "d/train/dog/0.png", "d/test/cat/0.png", "d/test/cow/0.png"] {
            try dir.write(path, image)
        }
        _ = try DatasetKind.imageFolder.load(directory: dir.url("d"), train: true)
        let error = #expect(throws: DataError.self) { try DatasetKind.imageFolder.load(directory: dir.url("d"), train: false) }
        let text = error?.description ?? ""
        #expect(text.contains("only in \(dir.url("d/train")): dog") && text.contains("only in \(dir.url("d/test")): cow"), "\(text)")
    }

    @Test func rgbJPEGDecodesCloseAndPlanar() throws {
        let dir = try TempDir()
        let image = Fixture.blocks(width: 32, height: 16, channels: 3, salt: 7, block: 16)
        try dir.write("rgb/only/x.jpeg", try ImageCodec.encodeJPEG(image, quality: 100))
        let ds = try ImageDataset.imageFolder(directory: dir.url("rgb"))
        #expect(ds.imageShape == [3, 16, 32])
        // YCbCr round trip of flat blocks: within 2 levels of the original inside each block
        // (libjpeg's smooth chroma upsampling blends the 2 pixels at block edges), in CHW order.
        let planar = image.planar
        var maxDiff = 0
        for c in 0..<3 {
            for y in 0..<16 where (2..<14).contains(y % 16) {
                for x in 0..<32 where (2..<14).contains(x % 16) {
                    let i = (c * 16 + y) * 32 + x
                    maxDiff = max(maxDiff, abs(Int(ds.pixels[i]) - Int(planar[i])))
                }
            }
        }
        #expect(maxDiff <= 2)
    }

    @Test func resizesAndCenterCrops() throws {
        // 8 wide × 4 high: the shorter side is already 4, so only the central 4 columns stay.
        let image = Fixture.pattern(width: 8, height: 4, channels: 1, salt: 0)
        let out = try ImageCodec.resizeAndCenterCrop(image, size: 4)
        #expect(out.width == 4 && out.height == 4)
        for y in 0..<4 { #expect(Array(out.pixels[(y * 4)..<(y * 4 + 4)]) == Array(image.pixels[(y * 8 + 2)..<(y * 8 + 6)])) }
        // Halving a checker of 0/200 2×2 squares with the widened triangle filter (as PIL's
        // antialiased bilinear): weights (.75, .75, .25)/1.75 per axis → 200·0.75/1.75² ≈ 49.
        var p = [UInt8](repeating: 0, count: 16)
        for y in 0..<4 { for x in 0..<4 where (y / 2 + x / 2) % 2 == 1 { p[y * 4 + x] = 200 } }
        let half = ImageCodec.resize(DecodedImage(pixels: p, width: 4, height: 4, channels: 1), width: 2, height: 2)
        #expect(half.pixels == [49, 151, 151, 49])
        // A flat image stays flat at any size.
        let flat = DecodedImage(pixels: [UInt8](repeating: 77, count: 5 * 7 * 3), width: 5, height: 7, channels: 3)
        #expect(try ImageCodec.resizeAndCenterCrop(flat, size: 12).pixels.allSatisfy { $0 == 77 })
        #expect(try ImageCodec.resizeAndCenterCrop(flat, size: 3).pixels.allSatisfy { $0 == 77 })
    }

    @Test func folderWithImageSizeResizesEveryImage() throws {
        let dir = try TempDir()
        try dir.write("f/c0/big.png", try ImageCodec.encodePNG(Fixture.pattern(width: 20, height: 10, channels: 3, salt: 1)))
        try dir.write("f/c1/small.png", try ImageCodec.encodePNG(Fixture.pattern(width: 6, height: 9, channels: 3, salt: 2)))
        let ds = try ImageDataset.imageFolder(directory: dir.url("f"), imageSize: 8)
        #expect(ds.imageShape == [3, 8, 8])
        #expect(ds.count == 2)
    }

    @Test func readsTinyImageNetLayout() throws {
        let dir = try TempDir()
        let root = "tiny-imagenet-200"
        // wnids.txt order differs from sorted order: labels must follow wnids.txt.
        try dir.write("\(root)/wnids.txt", Array("n02\nn01\n".utf8))
        var trainImages: [String: DecodedImage] = [:]
        for (k, wnid) in ["n01", "n02"].enumerated() {
            for i in 0..<2 {
                let image = Fixture.blocks(width: 8, height: 8, channels: 1, salt: k * 2 + i)
                let rgb = DecodedImage(pixels: image.pixels.flatMap { [$0, $0, $0] }, width: 8, height: 8, channels: 3)
                trainImages["\(wnid)_\(i)"] = rgb
                try dir.write("\(root)/train/\(wnid)/images/\(wnid)_\(i).JPEG", try ImageCodec.encodePNG(rgb))
            }
            try dir.write("\(root)/train/\(wnid)/\(wnid)_boxes.txt", Array("ignored".utf8))
        }
        let v0 = Fixture.pattern(width: 8, height: 8, channels: 3, salt: 9)
        let v1 = Fixture.pattern(width: 8, height: 8, channels: 3, salt: 10)
        try dir.write("\(root)/val/images/val_0.JPEG", try ImageCodec.encodePNG(v0))
        try dir.write("\(root)/val/images/val_1.JPEG", try ImageCodec.encodePNG(v1))
        try dir.write("\(root)/val/val_annotations.txt",
                      Array("val_0.JPEG\tn01\t0\t1\t7\t7\nval_1.JPEG\tn02\t2\t2\t5\t5\n".utf8))
        let train = try ImageDataset.tinyImageNet(directory: dir.url(root), train: true)
        #expect(train.classNames == ["n02", "n01"])
        #expect(train.labels == [0, 0, 1, 1])
        #expect(Array(train.image(at: 0)) == trainImages["n02_0"]!.planar)
        #expect(Array(train.image(at: 3)) == trainImages["n01_1"]!.planar)
        let val = try ImageDataset.tinyImageNet(directory: dir.url(root), train: false)
        #expect(val.labels == [1, 0])
        #expect(val.pixels == v0.planar + v1.planar)
        #expect(val.name == "tiny-imagenet/val")
    }

    @Test func syntheticIsSeeded() throws {
        let a = try ImageDataset.synthetic(count: 10, seed: 3)
        let b = try ImageDataset.synthetic(count: 10, seed: 3)
        let c = try ImageDataset.synthetic(count: 10, seed: 4)
        #expect(a.pixels == b.pixels && a.labels == b.labels)
        #expect(a.pixels != c.pixels)
        #expect(a.imageShape == [3, 32, 32])
        #expect(a.labels.allSatisfy { (0..<10).contains($0) })
    }

    @Test func padsTo32() throws {
        let ds = try Fixture.indexed(count: 2, channels: 1, height: 28, width: 28)
        let padded = try ds.padded(toHeight: 32, width: 32)
        #expect(padded.imageShape == [1, 32, 32])
        let img = Array(padded.image(at: 1))
        #expect(img[0] == 0 && img[1 * 32 + 1] == 0)      // border
        #expect(img[2 * 32 + 2] == 1 && img[29 * 32 + 29] == 1) // content (2...29)
        #expect(img[30 * 32 + 30] == 0)
        #expect(img.filter { $0 == 1 }.count == 28 * 28)
    }

    @Test func computesNormalization() throws {
        // Two 1×1×2 images: bytes 0, 255, 255, 255 → mean 0.75, std sqrt(0.75·0.25).
        let ds = try ImageDataset(name: "n", pixels: [0, 255, 255, 255], labels: [0, 0], channels: 1, height: 1, width: 2,
                                  classCount: 1)
        let n = Normalization.computed(from: ds)
        #expect(abs(n.mean[0] - 0.75) < 1e-6)
        #expect(abs(n.std[0] - Float(0.1875).squareRoot()) < 1e-6)
    }
}

@Suite struct DatasetKindTests {
    @Test func loadsByKindWithTrainAndTestFolders() throws {
        let dir = try TempDir()
        for part in ["train", "val"] {
            for cls in ["cat", "dog"] {
                try dir.write("pets/\(part)/\(cls)/x.png", try ImageCodec.encodePNG(Fixture.pattern(width: 6, height: 6, channels: 3, salt: cls.count)))
            }
        }
        let train = try DatasetKind.imageFolder.load(directory: dir.url("pets"), train: true)
        let test = try DatasetKind.imageFolder.load(directory: dir.url("pets"), train: false)
        #expect(train.count == 2 && test.count == 2)
        #expect(train.classNames == ["cat", "dog"] && test.labels == [0, 1])
        #expect(train.name == "pets/train")
        _ = try Fixture.writeMNIST(in: dir, sub: "m", gzip: true)
        #expect(try DatasetKind.mnist.load(directory: dir.url("m"), train: false).count == 2)
        #expect(DatasetKind(rawValue: "fashion-mnist")?.defaultDirectory == "/usr/share/datasets/fashion-mnist")
        #expect(throws: DataError.self) { try DatasetKind.cifar10.load(train: true) }
    }
}

@Suite struct InstalledFashionMNISTTests {
    /// Reads the real test set when Debian's `dataset-fashion-mnist` is installed (scripts/setup does it).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: MNISTLayout.fashionMNISTDirectory + "/t10k-labels-idx1-ubyte.gz")))
    func readsTheInstalledTestSet() throws {
        let test = try ImageDataset.fashionMNIST(train: false)
        #expect(test.count == 10_000)
        #expect(test.imageShape == [1, 28, 28])
        #expect(test.classCounts == Array(repeating: 1000, count: 10))
        let stats = Normalization.computed(from: test)
        #expect(abs(stats.mean[0] - 0.2868) < 0.002 && abs(stats.std[0] - 0.3524) < 0.002)
    }
}
