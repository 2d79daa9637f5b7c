import Foundation
@testable import Datasets

/// A fresh temporary folder per test, removed at deinit.
final class TempDir {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/lacoot-data-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func url(_ relative: String) -> String { path + "/" + relative }

    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8]) throws -> String {
        let p = url(relative)
        let dir = (p as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileIO.write(bytes, to: p)
        return p
    }

    func mkdir(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: url(relative), withIntermediateDirectories: true)
    }
}

enum Fixture {
    /// Deterministic bytes (distinct enough to catch any mix-up).
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: g.next()) }
    }

    /// Writes the four MNIST-layout IDX files (train: `n` images, test: `m`) and returns the
    /// pixels and labels written.
    static func writeMNIST(in dir: TempDir, sub: String = "", rows: Int = 3, cols: Int = 4, n: Int = 5, m: Int = 2,
                           gzip: Bool) throws -> (trainPixels: [UInt8], trainLabels: [UInt8], testPixels: [UInt8], testLabels: [UInt8]) {
        let tp = bytes(n * rows * cols, seed: 1), tl = (0..<n).map { UInt8(($0 * 3) % 10) }
        let sp = bytes(m * rows * cols, seed: 2), sl = (0..<m).map { UInt8(9 - $0) }
        let files: [(String, [UInt8])] = [
            ("train-images-idx3-ubyte", IDXArray.encode(dimensions: [n, rows, cols], bytes: tp)),
            ("train-labels-idx1-ubyte", IDXArray.encode(dimensions: [n], bytes: tl)),
            ("t10k-images-idx3-ubyte", IDXArray.encode(dimensions: [m, rows, cols], bytes: sp)),
            ("t10k-labels-idx1-ubyte", IDXArray.encode(dimensions: [m], bytes: sl)),
        ]
        for (name, content) in files {
            let prefix = sub.isEmpty ? "" : sub + "/"
            if gzip { try dir.write(prefix + name + ".gz", try FileIO.gzip(content)) } else { try dir.write(prefix + name, content) }
        }
        return (tp, tl, sp, sl)
    }

    /// An image whose pixel (y, x, c) is a distinct function of its position.
    static func pattern(width: Int, height: Int, channels: Int, salt: Int) -> DecodedImage {
        var p = [UInt8](repeating: 0, count: width * height * channels)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels { p[(y * width + x) * channels + c] = UInt8((salt * 37 + y * 16 + x * 3 + c * 101) % 256) }
            }
        }
        return DecodedImage(pixels: p, width: width, height: height, channels: channels)
    }

    /// An image made of flat `block × block` squares: baseline JPEG at quality 100 stores 8×8
    /// ones exactly in gray, and 16×16 ones almost exactly in colour (chroma is subsampled 2×).
    static func blocks(width: Int, height: Int, channels: Int, salt: Int, block: Int = 8) -> DecodedImage {
        var p = [UInt8](repeating: 0, count: width * height * channels)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels {
                    p[(y * width + x) * channels + c] = UInt8((salt * 50 + (y / block) * 60 + (x / block) * 90 + c * 40) % 256)
                }
            }
        }
        return DecodedImage(pixels: p, width: width, height: height, channels: channels)
    }

    /// A tiny dataset whose image i is filled with byte i (and label i % classes).
    static func indexed(count: Int, channels: Int = 1, height: Int = 2, width: Int = 2, classes: Int = 3) throws -> ImageDataset {
        let per = channels * height * width
        var pixels = [UInt8](repeating: 0, count: count * per)
        for i in 0..<count { for k in 0..<per { pixels[i * per + k] = UInt8(i % 256) } }
        return try ImageDataset(name: "indexed", pixels: pixels, labels: (0..<count).map { Int64($0 % classes) },
                                channels: channels, height: height, width: width, classCount: classes)
    }
}
