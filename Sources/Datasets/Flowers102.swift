extension ImageDataset {
    /// Oxford Flowers-102 in its official layout: `jpg/image_00001.jpg` …, `imagelabels.mat`
    /// (variable `labels`, one label 1…102 per image) and `setid.mat` (`trnid`, `valid`,
    /// `tstid`: 1-based image numbers of each split). Label k is the file's class k + 1; the
    /// class names are those numbers ("1" … "102"), as the dataset names no flowers.
    public static func flowers102(directory: String, split: OfficialSplit, imageSize: Int) throws -> ImageDataset {
        let hint = "download 102flowers.tgz (extracted: jpg/), imagelabels.mat and setid.mat from the VGG Flowers-102 page into one folder"
        let labelsPath = FileIO.join(directory, "imagelabels.mat")
        let setidPath = FileIO.join(directory, "setid.mat")
        guard FileIO.isFile(labelsPath) else { throw DataError.missingPath(path: labelsPath, hint: hint) }
        guard FileIO.isFile(setidPath) else { throw DataError.missingPath(path: setidPath, hint: hint) }
        let labels = try MATFile(path: labelsPath).integers("labels", in: 1...100_000)
        guard let classCount = labels.max() else {
            throw DataError.malformed(file: labelsPath, offset: nil, reason: "'labels' is empty")
        }
        let variable = switch split {
        case .train: "trnid"
        case .validation: "valid"
        case .test: "tstid"
        }
        let ids = try MATFile(path: setidPath).integers(variable, in: 1...max(1, labels.count))
        let images = FileIO.join(directory, "jpg")
        guard FileIO.isDirectory(images) else { throw DataError.missingPath(path: images, hint: hint) }
        let items = ids.enumerated().map { k, id in
            ListedImage(path: FileIO.join(images, "image_\(ListedImages.zeroPadded(id, width: 5)).jpg"), label: labels[id - 1] - 1,
                        listFile: setidPath, position: k + 1, variable: variable)
        }
        return try ListedImages.decode(items, source: setidPath, variable: variable, classNames: (1...classCount).map(String.init),
                                       imageSize: imageSize, name: "flowers102/\(split.rawValue)")
    }
}
