/// Everything that can go wrong while reading or batching a dataset. Each case prints as one
/// line that names the file (and byte offset where it applies) and, for a missing file, what
/// to install or download.
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A file or folder that should exist does not; `hint` says how to get it.
    case missingPath(path: String, hint: String)
    /// A file could not be read (permissions, I/O error).
    case unreadable(path: String, reason: String)
    /// The bytes at `offset` are not what the format requires (a magic number, a header field).
    case badMagic(file: String, offset: Int, expected: String, found: String)
    /// The file ends at `offset` but the format needs `needed` more bytes there (`nil` when
    /// unknown, e.g. a compressed stream that stops early).
    case truncated(file: String, offset: Int, needed: Int?)
    /// A compressed stream is damaged at `offset` (compressed bytes).
    case corrupt(file: String, offset: Int, reason: String)
    /// Sample `index` (stored at byte `offset` of the file, when known) has a label outside
    /// `0..<classCount`.
    case labelOutOfRange(file: String, index: Int, label: Int, classCount: Int, offset: Int?)
    /// An image does not have the size the dataset needs.
    case wrongImageSize(file: String, expected: String, found: String)
    /// The image and label files disagree on the number of samples.
    case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)
    /// A class folder holds no image.
    case emptyClassFolder(path: String)
    /// An image file could not be decoded.
    case undecodableImage(file: String, reason: String)
    /// Two splits of a folder dataset have different class folders (labels would not agree).
    case classesDiffer(first: String, second: String, onlyInFirst: [String], onlyInSecond: [String])
    /// An image is larger than the pixel limit — as its header promises, or once resized.
    case imageTooLarge(file: String, width: Int, height: Int, limit: Int)
    /// A compressed file inflates to more than its limit (a decompression bomb, or damage).
    case inflatesTooMuch(file: String, compressed: Int, limit: Int)
    /// A line of an annotation file (e.g. Tiny-ImageNet's `val_annotations.txt`) is unusable.
    case badAnnotation(file: String, line: Int, reason: String)
    /// A file's structure is wrong (a MAT-file element, a split file's content); `offset` is the
    /// byte where it was noticed, when that helps.
    case malformed(file: String, offset: Int?, reason: String)
    /// An argument is outside its allowed range (batch size, split fraction, ...).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .missingPath(path, hint):
            return "data: '\(path)' does not exist — \(hint)"
        case let .unreadable(path, reason):
            return "data: cannot read '\(path)': \(reason)"
        case let .badMagic(file, offset, expected, found):
            return "data: '\(file)' at byte \(offset): expected \(expected), found \(found)"
        case let .truncated(file, offset, needed?):
            return "data: '\(file)' is truncated: it ends at byte \(offset) where \(needed) more byte\(needed == 1 ? " was" : "s were") expected"
        case let .truncated(file, offset, nil):
            return "data: '\(file)' is truncated: its data stops at byte \(offset) before the end of the stream"
        case let .corrupt(file, offset, reason):
            return "data: '\(file)' is corrupt at compressed byte \(offset): \(reason)"
        case let .labelOutOfRange(file, index, label, classCount, offset):
            let at = offset.map { " at byte \($0)" } ?? ""
            return "data: '\(file)'\(at): sample \(index) has label \(label), outside 0..<\(classCount)"
        case let .wrongImageSize(file, expected, found):
            return "data: '\(file)': image is \(found), expected \(expected)"
        case let .countMismatch(images, imageCount, labels, labelCount):
            return "data: '\(images)' holds \(imageCount) images but '\(labels)' holds \(labelCount) labels"
        case let .emptyClassFolder(path):
            return "data: class folder '\(path)' holds no PNG or JPEG image"
        case let .undecodableImage(file, reason):
            return "data: cannot decode image '\(file)': \(reason)"
        case let .classesDiffer(first, second, onlyInFirst, onlyInSecond):
            var parts: [String] = []
            if !onlyInFirst.isEmpty { parts.append("only in \(first): \(onlyInFirst.joined(separator: ", "))") }
            if !onlyInSecond.isEmpty { parts.append("only in \(second): \(onlyInSecond.joined(separator: ", "))") }
            return "data: '\(first)' and '\(second)' must hold the same class folders (\(parts.joined(separator: "; ")))"
        case let .imageTooLarge(file, width, height, limit):
            return "data: image '\(file)' is \(width)×\(height) pixels (counting a resize), more than the limit of \(limit) (--max-image-pixels)"
        case let .inflatesTooMuch(file, compressed, limit):
            return "data: '\(file)' (\(compressed) bytes) inflates to more than \(limit) bytes; refused as a decompression bomb or damage"
        case let .badAnnotation(file, line, reason):
            return "data: '\(file)' line \(line): \(reason)"
        case let .malformed(file, offset, reason):
            return "data: '\(file)'\(offset.map { " at byte \($0)" } ?? ""): \(reason)"
        case let .invalidArgument(message):
            return "data: \(message)"
        }
    }
}
