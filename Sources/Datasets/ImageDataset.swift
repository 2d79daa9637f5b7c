/// A labelled image dataset held in memory: `count` images of `channels × height × width`
/// unsigned bytes, stored contiguously in NCHW order, with one `Int64` label per image in
/// `0..<classCount`. Batches are turned into float tensors only when loaded (see `Loader`).
public struct ImageDataset: Sendable {
    /// A short name, e.g. "fashion-mnist/train" or "cifar10/test".
    public var name: String
    /// All pixels, NCHW, `count * channels * height * width` bytes.
    public private(set) var pixels: [UInt8]
    /// One label per image.
    public private(set) var labels: [Int64]
    /// The number of classes; every label is in `0..<classCount`.
    public let classCount: Int
    /// Channels per image (1 gray, 3 RGB).
    public let channels: Int
    /// Image height in pixels.
    public let height: Int
    /// Image width in pixels.
    public let width: Int
    /// Class names, indexed by label (empty when unknown).
    public var classNames: [String]

    /// The number of images.
    public var count: Int { labels.count }
    /// Bytes per image: `channels * height * width`.
    public var imageByteCount: Int { channels * height * width }
    /// The shape of one image, `[channels, height, width]`.
    public var imageShape: [Int] { [channels, height, width] }

    /// Wraps pixels and labels, checking that the sizes agree and every label is in range.
    public init(name: String, pixels: [UInt8], labels: [Int64], channels: Int, height: Int, width: Int,
                classCount: Int, classNames: [String] = []) throws {
        guard channels > 0, height > 0, width > 0 else {
            throw DataError.invalidArgument("\(name): image shape \(channels)×\(height)×\(width) must be positive")
        }
        guard classCount > 0 else { throw DataError.invalidArgument("\(name): classCount must be positive, got \(classCount)") }
        var expected = labels.count
        for factor in [channels, height, width] {
            let (product, overflow) = expected.multipliedReportingOverflow(by: factor)
            guard !overflow else {
                throw DataError.invalidArgument("\(name): \(labels.count) images of \(channels)×\(height)×\(width) overflow the byte count")
            }
            expected = product
        }
        guard pixels.count == expected else {
            throw DataError.wrongImageSize(file: name, expected: "\(labels.count) × \(channels)×\(height)×\(width) = \(expected) bytes",
                                           found: "\(pixels.count) bytes")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= Int64(classCount) }) {
            throw DataError.labelOutOfRange(file: name, index: bad, label: Int(labels[bad]), classCount: classCount, offset: nil)
        }
        self.init(unchecked: name, pixels: pixels, labels: labels, channels: channels, height: height, width: width,
                  classCount: classCount, classNames: classNames)
    }

    init(unchecked name: String, pixels: [UInt8], labels: [Int64], channels: Int, height: Int, width: Int,
         classCount: Int, classNames: [String]) {
        self.name = name
        self.pixels = pixels
        self.labels = labels
        self.channels = channels
        self.height = height
        self.width = width
        self.classCount = classCount
        self.classNames = classNames.count == classCount ? classNames : []
    }

    /// The pixels of image `index` (CHW).
    public func image(at index: Int) -> ArraySlice<UInt8> {
        let n = imageByteCount
        return pixels[(index * n)..<((index + 1) * n)]
    }

    /// The images at `indices`, in that order (copied).
    public func subset(_ indices: [Int], name: String? = nil) throws -> ImageDataset {
        let n = imageByteCount
        if let bad = indices.first(where: { $0 < 0 || $0 >= count }) {
            throw DataError.invalidArgument("\(self.name): subset index \(bad) outside 0..<\(count)")
        }
        var newPixels = [UInt8](repeating: 0, count: indices.count * n)
        var newLabels = [Int64](repeating: 0, count: indices.count)
        pixels.withUnsafeBufferPointer { src in
            newPixels.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                for (k, i) in indices.enumerated() {
                    (d + k * n).update(from: s + i * n, count: n)
                }
            }
        }
        for (k, i) in indices.enumerated() { newLabels[k] = labels[i] }
        return ImageDataset(unchecked: name ?? self.name, pixels: newPixels, labels: newLabels, channels: channels,
                            height: height, width: width, classCount: classCount, classNames: classNames)
    }

    /// This dataset's images followed by `other`'s (same image shape and classes).
    public func appending(_ other: ImageDataset, name: String? = nil) throws -> ImageDataset {
        guard other.imageShape == imageShape, other.classCount == classCount else {
            throw DataError.invalidArgument("\(other.name): images \(other.imageShape) in \(other.classCount) classes cannot join \(self.name)'s \(imageShape) in \(classCount)")
        }
        return ImageDataset(unchecked: name ?? self.name, pixels: pixels + other.pixels, labels: labels + other.labels,
                            channels: channels, height: height, width: width, classCount: classCount, classNames: classNames)
    }

    /// A seeded train/validation split: `validationFraction` of the images (rounded to the
    /// nearest whole image) go to validation, drawn by a random permutation from `seed`. The two
    /// parts are disjoint, cover the dataset, keep the original order within each part, and are
    /// the same for the same seed. The reference splits 90/10 with seed 0.
    public func split(validationFraction: Double = 0.1, seed: UInt64 = 0) throws -> DatasetSplit {
        guard validationFraction >= 0, validationFraction < 1 else {
            throw DataError.invalidArgument("validation fraction must be in [0, 1), got \(validationFraction)")
        }
        let validationCount = Int((Double(count) * validationFraction).rounded())
        var generator = SeededGenerator(seed: seed, stream: 0x5350_4C49_54) // "SPLIT"
        let order = generator.permutation(count)
        let validationIndices = order[..<validationCount].sorted()
        let trainIndices = order[validationCount...].sorted()
        return DatasetSplit(train: try subset(trainIndices, name: name + "[train]"),
                            validation: try subset(validationIndices, name: name + "[validation]"),
                            trainIndices: trainIndices, validationIndices: validationIndices)
    }

    /// Whether the images are stored grouped by class (labels never decrease, more than one class),
    /// as image folders are: their first N images are then one or two classes, not a sample.
    public var isSortedByClass: Bool {
        Set(labels).count > 1 && zip(labels, labels.dropFirst()).allSatisfy { $0 <= $1 }
    }

    /// The first `limit` images — or, when the images are grouped by class (``isSortedByClass``),
    /// `limit` images drawn at random with `seed` (kept in their order), so every class is
    /// represented as in the whole set.
    public func limited(to limit: Int, seed: UInt64 = 0) throws -> ImageDataset {
        guard limit < count else { return self }
        guard isSortedByClass else { return try subset(Array(0..<limit)) }
        var generator = SeededGenerator(seed: seed, stream: 0x4C49_4D49_54) // "LIMIT"
        return try subset(Array(generator.permutation(count)[..<limit]).sorted())
    }

    /// The dataset with every image zero-padded (centred) to `height × width`, e.g. 28×28 → 32×32.
    public func padded(toHeight newHeight: Int, width newWidth: Int) throws -> ImageDataset {
        guard newHeight >= height, newWidth >= width else {
            throw DataError.invalidArgument("\(name): cannot pad \(height)×\(width) images to a smaller \(newHeight)×\(newWidth)")
        }
        if newHeight == height && newWidth == width { return self }
        let top = (newHeight - height) / 2, left = (newWidth - width) / 2
        let planeIn = height * width, planeOut = newHeight * newWidth
        let planes = count * channels
        var out = [UInt8](repeating: 0, count: planes * planeOut)
        let (h, w) = (height, width)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                for p in 0..<planes {
                    for y in 0..<h {
                        (d + p * planeOut + (y + top) * newWidth + left).update(from: s + p * planeIn + y * w, count: w)
                    }
                }
            }
        }
        return ImageDataset(unchecked: name, pixels: out, labels: labels, channels: channels, height: newHeight,
                            width: newWidth, classCount: classCount, classNames: classNames)
    }

    /// Grayscale images repeated into `newChannels` identical channels (for a model that
    /// expects colour, e.g. ImageNet weights on Fashion-MNIST).
    public func repeatingChannels(to newChannels: Int) throws -> ImageDataset {
        if newChannels == channels { return self }
        guard channels == 1, newChannels > 1 else {
            throw DataError.invalidArgument("\(name): cannot turn \(channels)-channel images into \(newChannels) channels (only grayscale repeats)")
        }
        let plane = height * width
        var out = [UInt8](repeating: 0, count: count * newChannels * plane)
        for i in 0..<count {
            let source = pixels[(i * plane)..<((i + 1) * plane)]
            for c in 0..<newChannels {
                let start = (i * newChannels + c) * plane
                out.replaceSubrange(start..<(start + plane), with: source)
            }
        }
        return ImageDataset(unchecked: name, pixels: out, labels: labels, channels: newChannels, height: height,
                            width: width, classCount: classCount, classNames: classNames)
    }

    /// Random images (uniform bytes) and labels from `seed`, e.g. CIFAR-shaped data for benchmarks.
    public static func synthetic(count: Int, channels: Int = 3, height: Int = 32, width: Int = 32,
                                 classCount: Int = 10, seed: UInt64 = 0) throws -> ImageDataset {
        guard count >= 0 else { throw DataError.invalidArgument("synthetic dataset: count must be ≥ 0") }
        var generator = SeededGenerator(seed: seed, stream: 0x53_594E_5448) // "SYNTH"
        let n = count * channels * height * width
        var pixels = [UInt8](repeating: 0, count: n)
        pixels.withUnsafeMutableBytes { raw in
            var i = 0
            while i + 8 <= n {
                raw.storeBytes(of: generator.next(), toByteOffset: i, as: UInt64.self)
                i += 8
            }
            while i < n { raw[i] = UInt8(truncatingIfNeeded: generator.next()); i += 1 }
        }
        var labels = [Int64](repeating: 0, count: count)
        for i in 0..<count { labels[i] = Int64(generator.below(classCount)) }
        return try ImageDataset(name: "synthetic", pixels: pixels, labels: labels, channels: channels, height: height,
                                width: width, classCount: classCount)
    }

    /// The number of images of each class.
    public var classCounts: [Int] {
        var c = [Int](repeating: 0, count: classCount)
        for l in labels { c[Int(l)] += 1 }
        return c
    }
}

/// The two disjoint parts of a seeded train/validation split, with the indices (into the
/// original dataset, ascending) each part was taken from.
public struct DatasetSplit: Sendable {
    public let train: ImageDataset
    public let validation: ImageDataset
    public let trainIndices: [Int]
    public let validationIndices: [Int]
}
