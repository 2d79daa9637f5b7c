/// Which CIFAR-100 label a dataset uses.
public enum CIFAR100Labels: String, Sendable, CaseIterable {
    /// The 100 fine classes.
    case fine
    /// The 20 superclasses.
    case coarse
}

/// CIFAR-10 and CIFAR-100 in their binary versions: records of label byte(s) followed by
/// 3072 bytes of a 32×32 RGB image stored channel by channel (already CHW).
public enum CIFARLayout {
    static let imageBytes = 3 * 32 * 32
    static let cifar10Hint = "download cifar-10-binary.tar.gz (the CIFAR-10 binary version) and extract it; give the folder holding data_batch_1.bin (or its parent)"
    static let cifar100Hint = "download cifar-100-binary.tar.gz (the CIFAR-100 binary version) and extract it; give the folder holding train.bin (or its parent)"

    /// Reads CIFAR binary record files. `labelBytes` is 1 (CIFAR-10) or 2 (CIFAR-100: coarse,
    /// fine); `labelIndex` picks which of them is the label.
    public static func load(files: [String], labelBytes: Int, labelIndex: Int, classCount: Int,
                            name: String, classNames: [String] = [], hint: String = "check the path") throws -> ImageDataset {
        let record = labelBytes + imageBytes
        var contents: [[UInt8]] = []
        var total = 0
        for file in files {
            let bytes = try FileIO.read(file, hint: hint)
            let whole = bytes.count / record * record
            if whole != bytes.count || bytes.isEmpty {
                throw DataError.truncated(file: file, offset: bytes.count, needed: whole + record - bytes.count)
            }
            contents.append(bytes)
            total += bytes.count / record
        }
        var pixels = [UInt8](repeating: 0, count: total * imageBytes)
        var labels = [Int64](repeating: 0, count: total)
        var n = 0
        for (file, bytes) in zip(files, contents) {
            let records = bytes.count / record
            for r in 0..<records {
                let label = Int(bytes[r * record + labelIndex])
                guard label < classCount else {
                    throw DataError.labelOutOfRange(file: file, index: r, label: label, classCount: classCount,
                                                    offset: r * record + labelIndex)
                }
                labels[n + r] = Int64(label)
            }
            pixels.withUnsafeMutableBufferPointer { dst in
                bytes.withUnsafeBufferPointer { src in
                    guard let d = dst.baseAddress, let s = src.baseAddress else { return }
                    for r in 0..<records {
                        (d + (n + r) * imageBytes).update(from: s + r * record + labelBytes, count: imageBytes)
                    }
                }
            }
            n += records
        }
        return ImageDataset(unchecked: name, pixels: pixels, labels: labels, channels: 3, height: 32, width: 32,
                            classCount: classCount, classNames: classNames)
    }

    /// `directory` itself if it holds `marker`, else `directory/sub` if that does; `nil` otherwise.
    static func resolve(_ directory: String, marker: String, sub: String) -> String? {
        if FileIO.isFile(FileIO.join(directory, marker)) { return directory }
        let nested = FileIO.join(directory, sub)
        if FileIO.isFile(FileIO.join(nested, marker)) { return nested }
        return nil
    }

    /// Class names from a text file of one name per line, if it exists and has `count` lines.
    static func names(_ path: String, count: Int) -> [String] {
        guard let bytes = try? FileIO.read(path) else { return [] }
        let lines = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: " \t\r") }.filter { !$0.isEmpty }
        return lines.count == count ? lines : []
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = self[...]
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension ImageDataset {
    /// CIFAR-10, binary version: `data_batch_1.bin` … `data_batch_5.bin` (50k) or
    /// `test_batch.bin` (10k), from `directory` or its `cifar-10-batches-bin` subfolder.
    public static func cifar10(directory: String, train: Bool) throws -> ImageDataset {
        let marker = train ? "data_batch_1.bin" : "test_batch.bin"
        guard let dir = CIFARLayout.resolve(directory, marker: marker, sub: "cifar-10-batches-bin") else {
            throw DataError.missingPath(path: FileIO.join(directory, marker), hint: CIFARLayout.cifar10Hint)
        }
        let files = train ? (1...5).map { FileIO.join(dir, "data_batch_\($0).bin") } : [FileIO.join(dir, "test_batch.bin")]
        return try CIFARLayout.load(files: files, labelBytes: 1, labelIndex: 0, classCount: 10,
                                    name: "cifar10" + (train ? "/train" : "/test"),
                                    classNames: CIFARLayout.names(FileIO.join(dir, "batches.meta.txt"), count: 10),
                                    hint: CIFARLayout.cifar10Hint)
    }

    /// CIFAR-100, binary version: `train.bin` (50k) or `test.bin` (10k), from `directory` or its
    /// `cifar-100-binary` subfolder, with fine (100) or coarse (20) labels.
    public static func cifar100(directory: String, train: Bool, labels: CIFAR100Labels = .fine) throws -> ImageDataset {
        let marker = train ? "train.bin" : "test.bin"
        guard let dir = CIFARLayout.resolve(directory, marker: marker, sub: "cifar-100-binary") else {
            throw DataError.missingPath(path: FileIO.join(directory, marker), hint: CIFARLayout.cifar100Hint)
        }
        let classCount = labels == .fine ? 100 : 20
        let namesFile = labels == .fine ? "fine_label_names.txt" : "coarse_label_names.txt"
        return try CIFARLayout.load(files: [FileIO.join(dir, marker)], labelBytes: 2, labelIndex: labels == .fine ? 1 : 0,
                                    classCount: classCount,
                                    name: "cifar100" + (labels == .coarse ? "-coarse" : "") + (train ? "/train" : "/test"),
                                    classNames: CIFARLayout.names(FileIO.join(dir, namesFile), count: classCount),
                                    hint: CIFARLayout.cifar100Hint)
    }
}
