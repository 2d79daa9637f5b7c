import Foundation

/// Image-folder datasets: one subfolder per class holding PNG or JPEG files (directly or in an
/// `images/` subfolder, as Tiny-ImageNet-200's `train/` does), and Tiny-ImageNet-200's
/// validation layout (`val/images/` + `val/val_annotations.txt`).
public enum ImageFolderLayout {
    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    static func isImageName(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: ".") else { return false }
        return imageExtensions.contains(name[name.index(after: dot)...].lowercased())
    }

    /// The image files of one class folder (sorted), looking into `images/` when present.
    static func imageFiles(in folder: String) throws -> [String] {
        var files = try FileIO.list(folder).filter(isImageName).map { FileIO.join(folder, $0) }.filter(FileIO.isFile)
        let nested = FileIO.join(folder, "images")
        if FileIO.isDirectory(nested) {
            files += try FileIO.list(nested).filter(isImageName).map { FileIO.join(nested, $0) }.filter(FileIO.isFile)
        }
        return files
    }

    /// The class folders of `directory`, sorted by name.
    public static func classFolders(in directory: String) throws -> [String] {
        guard FileIO.isDirectory(directory) else {
            throw DataError.missingPath(path: directory, hint: "give a folder with one subfolder of PNG/JPEG images per class")
        }
        return try FileIO.list(directory).filter { FileIO.isDirectory(FileIO.join(directory, $0)) }
    }

    /// Loads `directory/<class>/…` images. Classes are `classNames` in that order (each must
    /// be a subfolder), or every subfolder sorted by name. With `imageSize` every image is resized
    /// (shorter side) and centre-cropped to `imageSize × imageSize`; without it all images must
    /// have the size of the first one.
    public static func load(directory: String, imageSize: Int? = nil, channels: Int = 3, name: String? = nil,
                            classNames: [String]? = nil) throws -> ImageDataset {
        let classes = try classNames ?? classFolders(in: directory)
        guard FileIO.isDirectory(directory) else {
            throw DataError.missingPath(path: directory, hint: "give a folder with one subfolder of PNG/JPEG images per class")
        }
        guard !classes.isEmpty else {
            throw DataError.emptyClassFolder(path: FileIO.join(directory, "<class>"))
        }
        var files: [String] = []
        var labels: [Int64] = []
        for (label, cls) in classes.enumerated() {
            let folder = FileIO.join(directory, cls)
            guard FileIO.isDirectory(folder) else {
                throw DataError.missingPath(path: folder, hint: "every class listed needs a folder of images")
            }
            let images = try imageFiles(in: folder)
            guard !images.isEmpty else { throw DataError.emptyClassFolder(path: folder) }
            files += images
            labels += Array(repeating: Int64(label), count: images.count)
        }
        return try decodeAll(files: files, labels: labels, imageSize: imageSize, channels: channels,
                             name: name ?? lastComponent(directory), classCount: classes.count, classNames: classes)
    }

    /// Loads images listed in an annotation file of `file<TAB>class…` lines (Tiny-ImageNet-200's
    /// `val_annotations.txt`), found in `imagesDirectory`, labelled by the position of their
    /// class in `classNames`.
    public static func loadAnnotated(annotations: String, imagesDirectory: String, classNames: [String],
                                     imageSize: Int? = nil, channels: Int = 3, name: String) throws -> ImageDataset {
        let text = String(decoding: try FileIO.read(annotations, hint: "the annotation file lists `image<TAB>class` per line"),
                          as: UTF8.self)
        var index: [String: Int] = [:]
        for (i, c) in classNames.enumerated() { index[c] = i }
        var files: [String] = []
        var labels: [Int64] = []
        for (lineNumber, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).map { $0.trimmingCharacters(in: "\r") }
            if fields.isEmpty || fields[0].isEmpty { continue }
            guard fields.count >= 2 else {
                throw DataError.badAnnotation(file: annotations, line: lineNumber + 1, reason: "expected `image<TAB>class`")
            }
            guard let label = index[fields[1]] else {
                throw DataError.badAnnotation(file: annotations, line: lineNumber + 1,
                                              reason: "class '\(fields[1])' is not one of the \(classNames.count) training classes")
            }
            files.append(FileIO.join(imagesDirectory, fields[0]))
            labels.append(Int64(label))
        }
        guard !files.isEmpty else { throw DataError.emptyClassFolder(path: imagesDirectory) }
        return try decodeAll(files: files, labels: labels, imageSize: imageSize, channels: channels, name: name,
                             classCount: classNames.count, classNames: classNames)
    }

    static func lastComponent(_ path: String) -> String {
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        return trimmed.split(separator: "/").last.map(String.init) ?? trimmed
    }

    /// Decodes every file (in parallel over the available cores) into one dataset.
    static func decodeAll(files: [String], labels: [Int64], imageSize: Int?, channels: Int, name: String,
                          classCount: Int, classNames: [String]) throws -> ImageDataset {
        if let s = imageSize, s <= 0 { throw DataError.invalidArgument("image size must be positive, got \(s)") }
        guard channels == 1 || channels == 3 else { throw DataError.invalidArgument("channels must be 1 or 3, got \(channels)") }
        // The target size: given, or the first image's.
        let first = try ImageCodec.decode(file: files[0], channels: channels)
        let (height, width) = imageSize.map { ($0, $0) } ?? (first.height, first.width)
        let perImage = channels * height * width
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: files.count * perImage)
        defer { buffer.deallocate() }
        let errors = ErrorSlot()
        let shared = SendableBuffer(buffer)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, files.count / 16 + 1))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var i = worker
            while i < files.count, !errors.isSet {
                do {
                    var image = try ImageCodec.decode(file: files[i], channels: channels)
                    if let s = imageSize {
                        image = try ImageCodec.resizeAndCenterCrop(image, size: s, file: files[i])
                    } else if image.width != width || image.height != height {
                        throw DataError.wrongImageSize(file: files[i], expected: "\(width)×\(height) like \(files[0])",
                                                       found: "\(image.width)×\(image.height)")
                    }
                    let planar = image.planar
                    guard planar.count == perImage, let base = shared.buffer.baseAddress else {
                        throw DataError.wrongImageSize(file: files[i], expected: "\(perImage) bytes", found: "\(planar.count)")
                    }
                    planar.withUnsafeBufferPointer { src in
                        if let s = src.baseAddress { (base + i * perImage).update(from: s, count: perImage) }
                    }
                } catch {
                    errors.set(index: i, error)
                }
                i += workers
            }
        }
        if let error = errors.first { throw error }
        return ImageDataset(unchecked: name, pixels: Array(buffer), labels: labels, channels: channels, height: height,
                            width: width, classCount: classCount, classNames: classNames)
    }
}

/// A raw buffer handed to worker threads that write disjoint parts of it.
struct SendableBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<UInt8>
    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }
}

/// The error of the lowest-numbered failing item, set from several threads.
final class ErrorSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (Int, Error)?
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value != nil }
    var first: Error? { lock.lock(); defer { lock.unlock() }; return value?.1 }
    func set(index: Int, _ error: Error) {
        lock.lock(); defer { lock.unlock() }
        if let (current, _) = value, current <= index { return }
        value = (index, error)
    }
}

extension ImageDataset {
    /// An image-folder dataset (see `ImageFolderLayout.load`).
    public static func imageFolder(directory: String, imageSize: Int? = nil, channels: Int = 3, name: String? = nil,
                                   classNames: [String]? = nil) throws -> ImageDataset {
        try ImageFolderLayout.load(directory: directory, imageSize: imageSize, channels: channels, name: name, classNames: classNames)
    }

    /// Tiny-ImageNet-200 from its extracted folder (`tiny-imagenet-200/`): the training part
    /// (`train/<wnid>/images/*.JPEG`, 100k) or the labelled validation part (`val/images` with
    /// `val/val_annotations.txt`, 10k), classes in the order of `wnids.txt` (else sorted).
    public static func tinyImageNet(directory: String, train: Bool, imageSize: Int? = nil) throws -> ImageDataset {
        let hint = "download tiny-imagenet-200.zip and extract it; give the tiny-imagenet-200 folder (holding wnids.txt, train/, val/)"
        let trainDir = FileIO.join(directory, "train")
        guard FileIO.isDirectory(trainDir) else { throw DataError.missingPath(path: trainDir, hint: hint) }
        var classes = try ImageFolderLayout.classFolders(in: trainDir)
        let wnids = FileIO.join(directory, "wnids.txt")
        if FileIO.isFile(wnids) {
            let listed = String(decoding: try FileIO.read(wnids), as: UTF8.self).split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: " \t\r") }.filter { !$0.isEmpty }
            if !listed.isEmpty { classes = listed }
        }
        if train {
            return try ImageFolderLayout.load(directory: trainDir, imageSize: imageSize, channels: 3, name: "tiny-imagenet/train",
                                              classNames: classes)
        }
        let val = FileIO.join(directory, "val")
        let annotations = FileIO.join(val, "val_annotations.txt")
        guard FileIO.isFile(annotations) else { throw DataError.missingPath(path: annotations, hint: hint) }
        return try ImageFolderLayout.loadAnnotated(annotations: annotations, imagesDirectory: FileIO.join(val, "images"),
                                                   classNames: classes, imageSize: imageSize, channels: 3,
                                                   name: "tiny-imagenet/val")
    }
}
