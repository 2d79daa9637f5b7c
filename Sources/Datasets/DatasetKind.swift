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
        case .tinyImageNet: return .imageNet
        case .imageFolder: return nil
        }
    }

    /// Loads the training set (`train: true`) or the test set. `imageSize` resizes and
    /// centre-crops folder images (Tiny-ImageNet, image folders); the fixed-size formats ignore it.
    public func load(directory: String? = nil, train: Bool, imageSize: Int? = nil) throws -> ImageDataset {
        guard let dir = directory ?? defaultDirectory else {
            throw DataError.invalidArgument("\(rawValue) needs a data folder (no default location)")
        }
        logger.debug("loading \(rawValue) \(train ? "training" : "test") set", metadata: ["folder": "\(dir)"])
        let dataset = try loadSet(from: dir, train: train, imageSize: imageSize)
        logger.info("loaded \(dataset.name): \(dataset.count) images of \(dataset.channels)×\(dataset.height)×\(dataset.width), \(dataset.classCount) classes",
                 metadata: ["folder": "\(dir)"])
        return dataset
    }

    private func loadSet(from dir: String, train: Bool, imageSize: Int?) throws -> ImageDataset {
        switch self {
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
            let ds = try ImageFolderLayout.load(directory: part, imageSize: imageSize, name: name)
            return ds
        }
    }
}
