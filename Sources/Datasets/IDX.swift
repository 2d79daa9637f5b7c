import Foundation

/// An IDX array (the MNIST file format): a 4-byte magic `00 00 <type> <rank>`, `rank`
/// big-endian 32-bit dimensions, then the data. Only unsigned bytes (type 0x08) are read.
public struct IDXArray: Sendable {
    /// The dimensions, outermost first.
    public let dimensions: [Int]
    /// The data, row-major.
    public let bytes: [UInt8]
    /// How errors name the source: the path, marked "(uncompressed)" for a gzipped file since
    /// offsets then count bytes after inflation.
    public let source: String

    /// Parses IDX bytes; `file` names the source in errors. Offsets in errors count bytes of
    /// the (uncompressed) IDX stream.
    public init(parsing data: [UInt8], file: String) throws {
        func hex(_ b: ArraySlice<UInt8>) -> String { b.map { String($0, radix: 16).leftPadded(2) }.joined(separator: " ") }
        guard data.count >= 4 else { throw DataError.truncated(file: file, offset: data.count, needed: 4 - data.count) }
        guard data[0] == 0, data[1] == 0 else {
            throw DataError.badMagic(file: file, offset: 0, expected: "IDX magic 00 00 08 0N", found: hex(data[0..<4]))
        }
        guard data[2] == 0x08 else {
            throw DataError.badMagic(file: file, offset: 2, expected: "IDX type 08 (unsigned byte)", found: hex(data[2..<3]))
        }
        let rank = Int(data[3])
        guard rank >= 1 else {
            throw DataError.badMagic(file: file, offset: 3, expected: "an IDX rank ≥ 1", found: "0")
        }
        let headerSize = 4 + 4 * rank
        guard data.count >= headerSize else {
            throw DataError.truncated(file: file, offset: data.count, needed: headerSize - data.count)
        }
        var dims: [Int] = []
        var total = 1
        for d in 0..<rank {
            let o = 4 + 4 * d
            let v = Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3])
            // a zero count would hide an overflowing product of the other dimensions
            guard v > 0 else {
                throw DataError.badMagic(file: file, offset: o, expected: "a dimension ≥ 1 (dimension \(d + 1) of \(rank))", found: "0")
            }
            dims.append(v)
            let (p, overflow) = total.multipliedReportingOverflow(by: v)
            guard !overflow, p < (1 << 40) else {
                throw DataError.badMagic(file: file, offset: o, expected: "a plausible dimension", found: "\(v)")
            }
            total = p
        }
        guard data.count >= headerSize + total else {
            throw DataError.truncated(file: file, offset: data.count, needed: headerSize + total - data.count)
        }
        dimensions = dims
        bytes = Array(data[headerSize..<(headerSize + total)])
        source = file
    }

    /// Reads an IDX file, gzipped or raw (detected from the content).
    public init(contentsOf path: String, hint: String = "check the path") throws {
        let raw = try FileIO.read(path, hint: hint)
        if FileIO.isGzip(raw) {
            let inflated = try FileIO.gunzip(raw, path: path, limit: FileIO.inflationLimit(compressed: raw.count))
            try self.init(parsing: inflated, file: path + " (uncompressed)")
        } else {
            try self.init(parsing: raw, file: path)
        }
    }

    /// Encodes unsigned bytes as IDX (used by tests and tools).
    public static func encode(dimensions: [Int], bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0, 0, 0x08, UInt8(dimensions.count)]
        for d in dimensions {
            out += [UInt8(truncatingIfNeeded: d >> 24), UInt8(truncatingIfNeeded: d >> 16),
                    UInt8(truncatingIfNeeded: d >> 8), UInt8(truncatingIfNeeded: d)]
        }
        return out + bytes
    }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

/// MNIST-layout datasets (MNIST digits, Fashion-MNIST): four IDX files, gzipped or not.
public enum MNISTLayout {
    /// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST.
    public static let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"
    /// Fashion-MNIST's class names.
    public static let fashionClassNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// The path of `base` in `directory`: `base.gz`, `base`, or the `base` spelled with a dot
    /// before "idx" (`train-images.idx3-ubyte`), whichever exists; `nil` if none.
    static func locate(_ base: String, in directory: String) -> String? {
        let dotted = base.replacingOccurrences(of: "-idx", with: ".idx")
        for name in [base + ".gz", base, dotted + ".gz", dotted] {
            let p = FileIO.join(directory, name)
            if FileIO.isFile(p) { return p }
        }
        return nil
    }

    /// Loads images `[N, rows, cols]` and labels `[N]` from two IDX files.
    public static func load(images imagesPath: String, labels labelsPath: String, name: String,
                            classCount: Int = 10, classNames: [String] = [], hint: String = "check the path") throws -> ImageDataset {
        let images = try IDXArray(contentsOf: imagesPath, hint: hint)
        let labels = try IDXArray(contentsOf: labelsPath, hint: hint)
        guard images.dimensions.count == 3 else {
            throw DataError.badMagic(file: images.source, offset: 3, expected: "an image file of rank 3 (N, rows, columns)",
                                     found: "rank \(images.dimensions.count)")
        }
        guard labels.dimensions.count == 1 else {
            throw DataError.badMagic(file: labels.source, offset: 3, expected: "a label file of rank 1", found: "rank \(labels.dimensions.count)")
        }
        let n = images.dimensions[0]
        guard labels.dimensions[0] == n else {
            throw DataError.countMismatch(images: imagesPath, imageCount: n, labels: labelsPath, labelCount: labels.dimensions[0])
        }
        let headerSize = 8 // labels header: magic + one dimension
        var out = [Int64](repeating: 0, count: n)
        for i in 0..<n {
            let l = labels.bytes[i]
            guard Int(l) < classCount else {
                throw DataError.labelOutOfRange(file: labels.source, index: i, label: Int(l), classCount: classCount,
                                                offset: headerSize + i)
            }
            out[i] = Int64(l)
        }
        return ImageDataset(unchecked: name, pixels: images.bytes, labels: out, channels: 1,
                            height: images.dimensions[1], width: images.dimensions[2],
                            classCount: classCount, classNames: classNames)
    }

    /// Loads the training (60k) or test (10k) part of an MNIST-layout folder.
    public static func load(directory: String, train: Bool, name: String, classNames: [String] = [], hint: String) throws -> ImageDataset {
        guard FileIO.isDirectory(directory) else { throw DataError.missingPath(path: directory, hint: hint) }
        let prefix = train ? "train" : "t10k"
        let imagesBase = "\(prefix)-images-idx3-ubyte", labelsBase = "\(prefix)-labels-idx1-ubyte"
        guard let images = locate(imagesBase, in: directory) else {
            throw DataError.missingPath(path: FileIO.join(directory, imagesBase + ".gz"), hint: hint)
        }
        guard let labels = locate(labelsBase, in: directory) else {
            throw DataError.missingPath(path: FileIO.join(directory, labelsBase + ".gz"), hint: hint)
        }
        return try load(images: images, labels: labels, name: name + (train ? "/train" : "/test"),
                        classCount: 10, classNames: classNames, hint: hint)
    }
}


extension ImageDataset {
    /// Fashion-MNIST (28×28 gray, 10 classes) from `directory`, by default where Debian's
    /// `dataset-fashion-mnist` installs it.
    public static func fashionMNIST(directory: String = MNISTLayout.fashionMNISTDirectory, train: Bool) throws -> ImageDataset {
        try MNISTLayout.load(directory: directory, train: train, name: "fashion-mnist", classNames: MNISTLayout.fashionClassNames,
                             hint: "install it with `apt-get install dataset-fashion-mnist` (it goes to \(MNISTLayout.fashionMNISTDirectory)) or give the folder holding train-images-idx3-ubyte.gz")
    }

    /// MNIST digits (28×28 gray, 10 classes) from a folder holding the four IDX files.
    public static func mnist(directory: String, train: Bool) throws -> ImageDataset {
        try MNISTLayout.load(directory: directory, train: train, name: "mnist", classNames: (0..<10).map(String.init),
                             hint: "download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (MNIST) into that folder")
    }
}
