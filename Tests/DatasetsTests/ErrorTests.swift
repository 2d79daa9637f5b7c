import Foundation
import Testing
@testable import Datasets

/// The error a throwing call produced, as `DataError`.
func dataError(_ body: () throws -> Any) -> DataError? {
    do {
        _ = try body()
        return nil
    } catch let e as DataError {
        return e
    } catch {
        return nil
    }
}

@Suite struct ErrorTests {
    @Test func missingFashionMNISTSaysWhatToInstall() throws {
        let e = dataError { try ImageDataset.fashionMNIST(directory: "/nonexistent/fmnist", train: true) }
        guard case let .missingPath(path, hint)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(path == "/nonexistent/fmnist")
        #expect(hint.contains("apt-get install dataset-fashion-mnist"))
        #expect(e!.description.contains("/nonexistent/fmnist"))
        // A folder without the files names the file it expected.
        let dir = try TempDir()
        let e2 = dataError { try ImageDataset.fashionMNIST(directory: dir.path, train: false) }
        guard case let .missingPath(p2, _)? = e2 else { Issue.record("got \(String(describing: e2))"); return }
        #expect(p2.hasSuffix("t10k-images-idx3-ubyte.gz"))
    }

    @Test func missingCIFARNamesTheDownload() {
        let e = dataError { try ImageDataset.cifar10(directory: "/nonexistent/c10", train: true) }
        guard case let .missingPath(path, hint)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(path == "/nonexistent/c10/data_batch_1.bin")
        #expect(hint.contains("cifar-10-binary.tar.gz"))
        let e100 = dataError { try ImageDataset.cifar100(directory: "/nonexistent/c100", train: false) }
        #expect(e100?.description.contains("cifar-100-binary.tar.gz") == true)
        // One of the five training batches missing.
        let e3 = dataError {
            let dir = try TempDir()
            try dir.write("data_batch_1.bin", [0] + Fixture.bytes(3072, seed: 1))
            return try ImageDataset.cifar10(directory: dir.path, train: true)
        }
        guard case let .missingPath(p3, _)? = e3 else { Issue.record("got \(String(describing: e3))"); return }
        #expect(p3.hasSuffix("data_batch_2.bin"))
    }

    @Test func badIDXMagicGivesFileAndOffset() throws {
        let dir = try TempDir()
        _ = try Fixture.writeMNIST(in: dir, gzip: false)
        let bad = try dir.write("train-images-idx3-ubyte", [0x50, 0x4B, 0x03, 0x04] + Fixture.bytes(100, seed: 1))
        let e = dataError { try ImageDataset.mnist(directory: dir.path, train: true) }
        #expect(e == .badMagic(file: bad, offset: 0, expected: "IDX magic 00 00 08 0N", found: "50 4b 03 04"))
        // Wrong element type (0x0D = float) at byte 2.
        try dir.write("train-images-idx3-ubyte", [0, 0, 0x0D, 3] + Fixture.bytes(100, seed: 1))
        guard case let .badMagic(_, offset, _, _)? = dataError({ try ImageDataset.mnist(directory: dir.path, train: true) }) else {
            Issue.record("expected badMagic"); return
        }
        #expect(offset == 2)
    }

    @Test func truncatedIDXGivesOffset() throws {
        let dir = try TempDir()
        _ = try Fixture.writeMNIST(in: dir, rows: 3, cols: 4, n: 5, gzip: false)
        let full = IDXArray.encode(dimensions: [5, 3, 4], bytes: Fixture.bytes(60, seed: 1))
        let path = try dir.write("train-images-idx3-ubyte", Array(full.prefix(16 + 50)))
        let e = dataError { try ImageDataset.mnist(directory: dir.path, train: true) }
        #expect(e == .truncated(file: path, offset: 66, needed: 10))
        #expect(e?.description.contains("byte 66") == true)
        // Truncated inside the header.
        try dir.write("train-images-idx3-ubyte", Array(full.prefix(9)))
        #expect(dataError { try ImageDataset.mnist(directory: dir.path, train: true) } == .truncated(file: path, offset: 9, needed: 7))
    }

    @Test func truncatedGzipGivesOffset() throws {
        let dir = try TempDir()
        _ = try Fixture.writeMNIST(in: dir, rows: 28, cols: 28, n: 50, gzip: true)
        let path = dir.url("train-images-idx3-ubyte.gz")
        let gz = try FileIO.read(path)
        try dir.write("train-images-idx3-ubyte.gz", Array(gz.prefix(gz.count / 2)))
        let e = dataError { try ImageDataset.fashionMNIST(directory: dir.path, train: true) }
        guard case let .truncated(file, offset, nil)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(file == path)
        #expect(offset > 0 && offset <= gz.count / 2)
        // Corrupt deflate data.
        var broken = gz
        for i in 20..<min(60, broken.count) { broken[i] ^= 0xA5 }
        try dir.write("train-images-idx3-ubyte.gz", broken)
        let e2 = dataError { try ImageDataset.fashionMNIST(directory: dir.path, train: true) }
        switch e2 {
        case .corrupt(file: path, _, _)?, .truncated(file: path, _, _)?: break
        default: Issue.record("got \(String(describing: e2))")
        }
    }

    @Test func labelOutOfRangeAndCountMismatch() throws {
        let dir = try TempDir()
        _ = try Fixture.writeMNIST(in: dir, n: 5, gzip: false)
        let labels = try dir.write("train-labels-idx1-ubyte", IDXArray.encode(dimensions: [5], bytes: [1, 2, 3, 10, 4]))
        #expect(dataError { try ImageDataset.mnist(directory: dir.path, train: true) }
            == .labelOutOfRange(file: labels, index: 3, label: 10, classCount: 10, offset: 11))
        let images = dir.url("train-images-idx3-ubyte")
        try dir.write("train-labels-idx1-ubyte", IDXArray.encode(dimensions: [4], bytes: [1, 2, 3, 4]))
        #expect(dataError { try ImageDataset.mnist(directory: dir.path, train: true) }
            == .countMismatch(images: images, imageCount: 5, labels: labels, labelCount: 4))
        // CIFAR-10 label byte 10 in the second record.
        let c = try dir.write("c10/test_batch.bin", [3] + Fixture.bytes(3072, seed: 1) + [10] + Fixture.bytes(3072, seed: 2))
        #expect(dataError { try ImageDataset.cifar10(directory: dir.url("c10"), train: false) }
            == .labelOutOfRange(file: c, index: 1, label: 10, classCount: 10, offset: 3073))
        // Direct construction.
        #expect(dataError { try ImageDataset(name: "x", pixels: [0, 0], labels: [0, 5], channels: 1, height: 1, width: 1, classCount: 3) }
            == .labelOutOfRange(file: "x", index: 1, label: 5, classCount: 3, offset: nil))
    }

    @Test func truncatedCIFARGivesOffset() throws {
        let dir = try TempDir()
        let path = try dir.write("test_batch.bin", [3] + Fixture.bytes(3072, seed: 1) + [4] + Fixture.bytes(1000, seed: 2))
        #expect(dataError { try ImageDataset.cifar10(directory: dir.path, train: false) }
            == .truncated(file: path, offset: 4074, needed: 2 * 3073 - 4074))
    }

    @Test func wrongImageSizeInFolder() throws {
        let dir = try TempDir()
        try dir.write("f/a/0.png", try ImageCodec.encodePNG(Fixture.pattern(width: 8, height: 8, channels: 3, salt: 0)))
        let odd = try dir.write("f/b/1.png", try ImageCodec.encodePNG(Fixture.pattern(width: 8, height: 6, channels: 3, salt: 1)))
        let e = dataError { try ImageDataset.imageFolder(directory: dir.url("f")) }
        guard case let .wrongImageSize(file, _, found)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(file == odd)
        #expect(found == "8×6")
        // With a target size, the same folder loads.
        #expect(try ImageDataset.imageFolder(directory: dir.url("f"), imageSize: 4).imageShape == [3, 4, 4])
    }

    @Test func emptyClassFolder() throws {
        let dir = try TempDir()
        try dir.write("f/a/0.png", try ImageCodec.encodePNG(Fixture.pattern(width: 4, height: 4, channels: 3, salt: 0)))
        try dir.write("f/b/readme.txt", Array("no images".utf8))
        #expect(dataError { try ImageDataset.imageFolder(directory: dir.url("f")) } == .emptyClassFolder(path: dir.url("f/b")))
        try dir.mkdir("g")
        #expect(dataError { try ImageDataset.imageFolder(directory: dir.url("g")) } != nil)
        #expect(dataError { try ImageDataset.imageFolder(directory: dir.url("nothing")) }
            == .missingPath(path: dir.url("nothing"), hint: "give a folder with one subfolder of PNG/JPEG images per class"))
    }

    @Test func undecodableImagesAreNamed() throws {
        let dir = try TempDir()
        let png = try ImageCodec.encodePNG(Fixture.pattern(width: 16, height: 16, channels: 3, salt: 0))
        let jpeg = try ImageCodec.encodeJPEG(Fixture.pattern(width: 16, height: 16, channels: 3, salt: 0), quality: 90)
        try dir.write("f/a/good.png", png)
        let cases: [(String, [UInt8])] = [
            ("text.png", Array("hello, not an image".utf8)),
            ("cut.png", Array(png.prefix(png.count / 2))),
            ("cut.jpg", Array(jpeg.prefix(jpeg.count / 2))),
            ("garbled.jpg", Array(jpeg.prefix(20)) + Fixture.bytes(200, seed: 3)),
            ("empty.jpg", []),
        ]
        for (name, bytes) in cases {
            let path = try dir.write("f/b/\(name)", bytes)
            let e = dataError { try ImageDataset.imageFolder(directory: dir.url("f")) }
            guard case let .undecodableImage(file, reason)? = e else { Issue.record("\(name): got \(String(describing: e))"); continue }
            #expect(file == path)
            #expect(!reason.isEmpty)
            try FileManager.default.removeItem(atPath: path)
        }
    }

    @Test func badTinyImageNetAnnotation() throws {
        let dir = try TempDir()
        try dir.write("t/wnids.txt", Array("n01\n".utf8))
        try dir.write("t/train/n01/images/a.JPEG", try ImageCodec.encodePNG(Fixture.pattern(width: 4, height: 4, channels: 3, salt: 0)))
        try dir.write("t/val/images/v.JPEG", try ImageCodec.encodePNG(Fixture.pattern(width: 4, height: 4, channels: 3, salt: 1)))
        let ann = try dir.write("t/val/val_annotations.txt", Array("v.JPEG\tn01\nv.JPEG\tn99\n".utf8))
        guard case let .badAnnotation(file, line, _)? = dataError({ try ImageDataset.tinyImageNet(directory: dir.url("t"), train: false) }) else {
            Issue.record("expected badAnnotation"); return
        }
        #expect(file == ann && line == 2)
        #expect(dataError { try ImageDataset.tinyImageNet(directory: dir.url("none"), train: true) }?.description.contains("tiny-imagenet-200") == true)
    }

    @Test func everyErrorIsOneLine() {
        let all: [DataError] = [
            .missingPath(path: "p", hint: "h"), .unreadable(path: "p", reason: "r"),
            .badMagic(file: "f", offset: 0, expected: "e", found: "x"), .truncated(file: "f", offset: 1, needed: 2),
            .truncated(file: "f", offset: 1, needed: nil), .corrupt(file: "f", offset: 3, reason: "r"),
            .labelOutOfRange(file: "f", index: 1, label: 2, classCount: 2, offset: 9), .wrongImageSize(file: "f", expected: "a", found: "b"),
            .countMismatch(images: "i", imageCount: 1, labels: "l", labelCount: 2), .emptyClassFolder(path: "p"),
            .undecodableImage(file: "f", reason: "r"), .badAnnotation(file: "f", line: 1, reason: "r"), .invalidArgument("a"),
        ]
        for e in all {
            #expect(!e.description.contains("\n"))
            #expect(e.description.hasPrefix("data: "))
        }
    }
}
