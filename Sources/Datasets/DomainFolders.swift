/// Multi-domain image folders, `<domain>/<class>/<images>` (PACS, VLCS): every domain holds the
/// same class folders. Either all domains are pooled and split by a seeded permutation
/// (a tenth for test, the rest for training, as EASIER does), or one domain is held out as
/// the test set and the others train (leave-one-domain-out).
public enum DomainFolderLayout {
    /// The share of the pooled images set aside for test.
    public static let pooledTestShare = 0.1

    /// The domain folders under `directory` (or under its `kfold/`, PACS's official archive), sorted.
    public static func domains(in directory: String) throws -> (root: String, names: [String]) {
        let kfold = FileIO.join(directory, "kfold")
        let root = FileIO.isDirectory(kfold) ? kfold : directory
        guard FileIO.isDirectory(root) else {
            throw DataError.missingPath(path: root, hint: "give the folder holding one subfolder per domain, each with one folder of images per class")
        }
        let names = try ImageFolderLayout.classFolders(in: root)
        guard !names.isEmpty else {
            throw DataError.missingPath(path: FileIO.join(root, "<domain>"), hint: "the dataset needs one subfolder per domain")
        }
        return (root, names)
    }

    /// The training part (`train: true`) or the test part: with `targetDomain`, the other
    /// domains or that domain; without, the seeded pooled split. Images are resized (shorter side)
    /// and centre-cropped to `imageSize`.
    public static func load(directory: String, dataset: String, train: Bool, targetDomain: String?, seed: UInt64,
                            imageSize: Int) throws -> ImageDataset {
        let (root, domains) = try domains(in: directory)
        let classes = try sharedClasses(root: root, domains: domains)
        var files: [String] = [], labels: [Int64] = [], domainOf: [Int] = []
        for (d, domain) in domains.enumerated() {
            for (label, cls) in classes.enumerated() {
                let folder = FileIO.join(FileIO.join(root, domain), cls)
                let images = try ImageFolderLayout.imageFiles(in: folder)
                guard !images.isEmpty else { throw DataError.emptyClassFolder(path: folder) }
                files += images
                labels += Array(repeating: Int64(label), count: images.count)
                domainOf += Array(repeating: d, count: images.count)
            }
        }
        let chosen: [Int]
        let part: String
        if let target = targetDomain {
            guard let held = domains.firstIndex(of: target) else {
                throw DataError.invalidArgument("--target-domain '\(target)' is not a domain of \(root); its domains: \(domains.joined(separator: ", "))")
            }
            guard domains.count >= 2 else {
                throw DataError.invalidArgument("--target-domain needs at least two domains in \(root), found only '\(target)'")
            }
            chosen = files.indices.filter { (domainOf[$0] == held) != train }
            part = train ? "without-\(target)" : target
        } else {
            var generator = SeededGenerator(seed: seed, stream: 0x504F_4F4C) // "POOL"
            let order = generator.permutation(files.count)
            let testCount = Int((Double(files.count) * pooledTestShare).rounded())
            chosen = (train ? order[testCount...] : order[..<testCount]).sorted()
            part = train ? "train" : "test"
        }
        guard !chosen.isEmpty else {
            throw DataError.invalidArgument("\(dataset) in \(root): the \(part) part holds no image (too few images for a 90/10 split)")
        }
        return try ImageFolderLayout.decodeAll(files: chosen.map { files[$0] }, labels: chosen.map { labels[$0] }, imageSize: imageSize,
                                               channels: 3, name: "\(dataset)/\(part)", classCount: classes.count, classNames: classes)
    }

    /// The class folders, which every domain must hold (an error names the domain that lacks one).
    static func sharedClasses(root: String, domains: [String]) throws -> [String] {
        let perDomain = try domains.map { try ImageFolderLayout.classFolders(in: FileIO.join(root, $0)) }
        let all = Set(perDomain.joined()).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        for (domain, classes) in zip(domains, perDomain) {
            if let missing = all.first(where: { !classes.contains($0) }) {
                let other = zip(domains, perDomain).first { $0.1.contains(missing) }?.0 ?? "another domain"
                throw DataError.missingPath(path: FileIO.join(FileIO.join(root, domain), missing),
                                            hint: "every domain needs the same class folders; '\(other)' has '\(missing)', '\(domain)' does not")
            }
        }
        guard !all.isEmpty else { throw DataError.emptyClassFolder(path: FileIO.join(FileIO.join(root, domains[0]), "<class>")) }
        return all
    }
}
