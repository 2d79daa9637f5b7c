extension ImageDataset {
    /// The Describable Textures Dataset in its official layout: `images/<class>/<file>.jpg` and
    /// `labels/{train,val,test}N.txt` (N = `splitIndex`, 1…10), each line `class/file.jpg`.
    /// Classes are the folders of `images/`, sorted by name.
    public static func dtd(directory: String, split: OfficialSplit, splitIndex: Int = 1, imageSize: Int) throws -> ImageDataset {
        let hint = "download dtd-r1.0.1.tar.gz and extract it; give the dtd folder (holding images/ and labels/)"
        guard (1...10).contains(splitIndex) else {
            throw DataError.invalidArgument("dtd has splits 1...10, got --split-index \(splitIndex)")
        }
        let images = FileIO.join(directory, "images")
        guard FileIO.isDirectory(images) else { throw DataError.missingPath(path: images, hint: hint) }
        let classes = try ImageFolderLayout.classFolders(in: images)
        var index: [String: Int] = [:]
        for (i, c) in classes.enumerated() { index[c] = i }
        let prefix = switch split {
        case .train: "train"
        case .validation: "val"
        case .test: "test"
        }
        let listFile = FileIO.join(FileIO.join(directory, "labels"), "\(prefix)\(splitIndex).txt")
        var items: [ListedImage] = []
        for (number, text) in try ListedImages.lines(of: listFile, hint: hint) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw DataError.badAnnotation(file: listFile, line: number, reason: "expected `class/file.jpg`, found '\(text)'")
            }
            guard let label = index[String(parts[0])] else {
                throw DataError.badAnnotation(file: listFile, line: number,
                                              reason: "class '\(parts[0])' is not a folder of \(images)")
            }
            items.append(ListedImage(path: FileIO.join(images, text), label: label, listFile: listFile, position: number))
        }
        return try ListedImages.decode(items, source: listFile, classNames: classes, imageSize: imageSize,
                                       name: "dtd/\(prefix)\(splitIndex)")
    }
}
