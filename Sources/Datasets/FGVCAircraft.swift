extension ImageDataset {
    /// FGVC-Aircraft (2013b) at the variant level, in its official layout: `data/images/<id>.jpg`,
    /// `data/images_variant_{train,val,test}.txt` (each line `<id> <variant name>`, the name may
    /// hold spaces) and `data/variants.txt` (the classes, one per line, in label order).
    /// `directory` is the folder holding `data/` (or `data/` itself).
    public static func fgvcAircraft(directory: String, split: OfficialSplit, imageSize: Int) throws -> ImageDataset {
        let hint = "download fgvc-aircraft-2013b.tar.gz and extract it; give the fgvc-aircraft-2013b folder (holding data/)"
        let nested = FileIO.join(directory, "data")
        let data = FileIO.isDirectory(nested) ? nested : directory
        let variantsFile = FileIO.join(data, "variants.txt")
        let classes = try ListedImages.lines(of: variantsFile, hint: hint)
        var index: [String: Int] = [:]
        for (number, name) in classes {
            guard index[name] == nil else {
                throw DataError.badAnnotation(file: variantsFile, line: number, reason: "variant '\(name)' is listed twice")
            }
            index[name] = index.count
        }
        let images = FileIO.join(data, "images")
        guard FileIO.isDirectory(images) else { throw DataError.missingPath(path: images, hint: hint) }
        let part = split == .validation ? "val" : split.rawValue
        let listFile = FileIO.join(data, "images_variant_\(part).txt")
        var items: [ListedImage] = []
        for (number, text) in try ListedImages.lines(of: listFile, hint: hint) {
            guard let space = text.firstIndex(of: " ") else {
                throw DataError.badAnnotation(file: listFile, line: number, reason: "expected `<image id> <variant>`, found '\(text)'")
            }
            let id = String(text[..<space])
            let variant = text[text.index(after: space)...].trimmingCharacters(in: " \t")
            guard let label = index[variant] else {
                throw DataError.badAnnotation(file: listFile, line: number, reason: "variant '\(variant)' is not in \(variantsFile)")
            }
            items.append(ListedImage(path: FileIO.join(images, id + ".jpg"), label: label, listFile: listFile, position: number))
        }
        return try ListedImages.decode(items, source: listFile, classNames: classes.map(\.text), imageSize: imageSize,
                                       name: "aircraft/\(part)")
    }
}
