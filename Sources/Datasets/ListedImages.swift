/// One of the official parts of a dataset that ships its own split files.
public enum OfficialSplit: String, CaseIterable, Sendable {
    case train, validation, test
}

/// An image named by a split file: its path, its label, and where it was named (a line of a
/// text file, or an element of a MAT-file variable) so that errors can point there.
struct ListedImage {
    let path: String
    let label: Int
    let listFile: String
    /// 1-based line (text files) or element (MAT variables).
    let position: Int
    /// The MAT-file variable, nil for a text file.
    var variable: String? = nil

    /// An error about this entry, naming its file and line (or variable and element).
    func error(_ reason: String) -> DataError {
        if let variable {
            return .malformed(file: listFile, offset: nil, reason: "'\(variable)' element \(position): \(reason)")
        }
        return .badAnnotation(file: listFile, line: position, reason: reason)
    }
}

/// Reading split files and decoding the images they name.
enum ListedImages {
    /// The non-blank lines of a text file, trimmed, with their 1-based line numbers.
    static func lines(of path: String, hint: String) throws -> [(number: Int, text: String)] {
        let text = String(decoding: try FileIO.read(path, hint: hint), as: UTF8.self)
        var out: [(number: Int, text: String)] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: " \t\r")
            if !trimmed.isEmpty { out.append((i + 1, trimmed)) }
        }
        return out
    }

    /// Decodes the listed images (resized on the shorter side and centre-cropped to
    /// `imageSize`), after checking that every file exists and every class has an image in
    /// this split (`source`, and its MAT `variable` if any, name the split in that error).
    static func decode(_ items: [ListedImage], source: String, variable: String? = nil, classNames: [String], imageSize: Int,
                       name: String) throws -> ImageDataset {
        guard !classNames.isEmpty else { throw DataError.malformed(file: source, offset: nil, reason: "no classes are defined") }
        var seen = [Bool](repeating: false, count: classNames.count)
        for item in items {
            guard FileIO.isFile(item.path) else { throw item.error("names image '\(item.path)', which does not exist") }
            seen[item.label] = true
        }
        if let missing = seen.firstIndex(of: false) {
            throw DataError.malformed(file: source, offset: nil,
                                      reason: "\(variable.map { "'\($0)': " } ?? "")class '\(classNames[missing])' has no image in this split (each of the \(classNames.count) classes needs one)")
        }
        return try ImageFolderLayout.decodeAll(files: items.map(\.path), labels: items.map { Int64($0.label) }, imageSize: imageSize,
                                               channels: 3, name: name, classCount: classNames.count, classNames: classNames)
    }

    /// `value` left-padded with zeros to `width` digits (Flowers-102's `image_00001.jpg`).
    static func zeroPadded(_ value: Int, width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

