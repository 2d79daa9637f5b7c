import Logging

/// The datasets this module reads, by the names the command line uses.
public enum DatasetKind: String, CaseIterable, Sendable {
    /// Fashion-MNIST (IDX; default folder from Debian's `dataset-fashion-mnist`).
    case fashionMNIST = "fashion-mnist"
    /// MNIST digits (IDX).
    case mnist
    /// CIFAR-10, binary version.
    case cifar10
    /// CIFAR-100, binary version, fine labels.
    case cifar100
    /// Tiny-ImageNet-200 (`train/` folders, labelled `val/`).
    case tinyImageNet = "tiny-imagenet"
    /// An image folder with `train/` and `test/` (or `val/`) parts, one subfolder per class in each.
    case imageFolder = "folder"
    /// Oxford Flowers-102 (`jpg/`, `imagelabels.mat`, `setid.mat`).
    case flowers102
    /// Describable Textures (`images/<class>/`, `labels/{train,val,test}N.txt`).
    case dtd
    /// FGVC-Aircraft, variant level (`data/images/`, `data/images_variant_*.txt`, `data/variants.txt`).
    case aircraft
    /// PACS, `<domain>/<class>/` (photo, art_painting, cartoon, sketch).
    case pacs
    /// VLCS, `<domain>/<class>/` (Caltech101, LabelMe, SUN09, VOC2007).
    case vlcs

    /// Whether the dataset is split by domain folders (`--target-domain`).
    public var hasDomains: Bool { self == .pacs || self == .vlcs }

    /// The resize/crop size used when none is given: 224 (ImageNet's) for the datasets whose
    /// images vary in size; nil for the others (fixed sizes, or an image folder whose images
    /// must then all have the first one's size).
    public var defaultImageSize: Int? {
        switch self {
        case .flowers102, .dtd, .aircraft, .pacs, .vlcs: return 224
        default: return nil
        }
    }

    /// The folder used when none is given (only Fashion-MNIST has one).
    public var defaultDirectory: String? { self == .fashionMNIST ? MNISTLayout.fashionMNISTDirectory : nil }

    /// The published normalization for this dataset, if there is one (else compute it from the
    /// training split with `Normalization.computed(from:)`).
    public var knownNormalization: Normalization? {
        switch self {
        case .fashionMNIST: return .fashionMNIST
        case .mnist: return .mnist
        case .cifar10: return .cifar10
        case .cifar100: return .cifar100
        case .tinyImageNet, .flowers102, .dtd, .aircraft, .pacs, .vlcs: return .imageNet
        case .imageFolder: return nil
        }
    }

    /// Loads the training set (`train: true`) or the test set. `imageSize` resizes and
    /// centre-crops folder images (default: `defaultImageSize`); the fixed-size formats ignore
    /// it. Flowers-102, DTD and FGVC-Aircraft give their official train or test split (their
    /// official validation split is not used); PACS and VLCS see `DomainFolderLayout`.
    public func load(directory: String? = nil, train: Bool, imageSize: Int? = nil,
                     options: LayoutOptions = LayoutOptions()) throws -> ImageDataset {
        guard let dir = directory ?? defaultDirectory else {
            throw DataError.invalidArgument("\(rawValue) needs a data folder (no default location)")
        }
        if options.splitIndex != nil, self != .dtd { throw DataError.invalidArgument("--split-index applies to dtd only") }
        if options.targetDomain != nil, !hasDomains { throw DataError.invalidArgument("--target-domain applies to pacs and vlcs only") }
        logger.debug("loading \(rawValue) \(train ? "training" : "test") set", metadata: ["folder": "\(dir)"])
        let dataset = try loadSet(from: dir, train: train, imageSize: imageSize ?? defaultImageSize, options: options)
        logger.info("loaded \(dataset.name): \(dataset.count) images of \(dataset.channels)×\(dataset.height)×\(dataset.width), \(dataset.classCount) classes",
                 metadata: ["folder": "\(dir)"])
        return dataset
    }

    private func loadSet(from dir: String, train: Bool, imageSize: Int?, options: LayoutOptions) throws -> ImageDataset {
        let official: OfficialSplit = train ? .train : .test
        let size = imageSize ?? 224
        switch self {
        case .flowers102: return try .flowers102(directory: dir, split: official, imageSize: size)
        case .dtd: return try .dtd(directory: dir, split: official, splitIndex: options.splitIndex ?? 1, imageSize: size)
        case .aircraft: return try .fgvcAircraft(directory: dir, split: official, imageSize: size)
        case .pacs, .vlcs:
            return try DomainFolderLayout.load(directory: dir, dataset: rawValue, train: train, targetDomain: options.targetDomain,
                                               seed: options.seed, imageSize: size)
        case .fashionMNIST: return try .fashionMNIST(directory: dir, train: train)
        case .mnist: return try .mnist(directory: dir, train: train)
        case .cifar10: return try .cifar10(directory: dir, train: train)
        case .cifar100: return try .cifar100(directory: dir, train: train)
        case .tinyImageNet: return try .tinyImageNet(directory: dir, train: train, imageSize: imageSize)
        case .imageFolder:
            var part = FileIO.join(dir, train ? "train" : "test")
            if !train && !FileIO.isDirectory(part) && FileIO.isDirectory(FileIO.join(dir, "val")) { part = FileIO.join(dir, "val") }
            guard FileIO.isDirectory(part) else {
                throw DataError.missingPath(path: part, hint: "an image folder dataset needs train/ and test/ (or val/) subfolders, one folder per class in each")
            }
            let name = ImageFolderLayout.lastComponent(dir) + (train ? "/train" : "/test")
            if !train {
                // labels are class positions: the test split must have exactly the training classes
                let trainPart = FileIO.join(dir, "train")
                let trainClasses = try ImageFolderLayout.classFolders(in: trainPart)
                let testClasses = try ImageFolderLayout.classFolders(in: part)
                guard trainClasses == testClasses else {
                    throw DataError.classesDiffer(first: trainPart, second: part,
                                                  onlyInFirst: trainClasses.filter { !testClasses.contains($0) },
                                                  onlyInSecond: testClasses.filter { !trainClasses.contains($0) })
                }
            }
            return try ImageFolderLayout.load(directory: part, imageSize: imageSize, name: name)
        }
    }
}

/// Choices some layouts take: DTD's split number, and PACS/VLCS's held-out domain and the
/// seed of their pooled split.
public struct LayoutOptions: Sendable, Equatable {
    /// DTD's split, 1...10 (nil = 1).
    public var splitIndex: Int?
    /// PACS/VLCS: the domain held out as the test set (nil = all domains pooled).
    public var targetDomain: String?
    /// The seed of PACS/VLCS's pooled split.
    public var seed: UInt64

    public init(splitIndex: Int? = nil, targetDomain: String? = nil, seed: UInt64 = 0) {
        self.splitIndex = splitIndex
        self.targetDomain = targetDomain
        self.seed = seed
    }
}
