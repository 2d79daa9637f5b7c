/// The ResNet family's descriptor: its kinds, defaults, label, import keys and the names the
/// command line offers (resnet18, resnet34, resnet50, resnet20, resnet56).
extension ModelArchitecture.Kind {
    /// torchvision's BasicBlock/Bottleneck ResNets (4 stages).
    public static let resNet18 = Self(rawValue: "resNet18")
    public static let resNet34 = Self(rawValue: "resNet34")
    public static let resNet50 = Self(rawValue: "resNet50")
    /// He et al. 2016's CIFAR ResNets (3 stages of 16/32/64 channels, 6n + 2 layers).
    public static let resNet20 = Self(rawValue: "resNet20")
    public static let resNet32 = Self(rawValue: "resNet32")
    public static let resNet44 = Self(rawValue: "resNet44")
    public static let resNet56 = Self(rawValue: "resNet56")
    public static let resNet110 = Self(rawValue: "resNet110")
}

extension ModelFamily {
    /// torchvision's ResNet-18/34/50 and He et al.'s CIFAR ResNet-20…110 (``ResNet``).
    public static let resNet = ModelFamily(
        name: "ResNet", kinds: ResNet.Depth.allCases.map(\.kind),
        variants: [.resnet18, .resnet34, .resnet50, .resnet20, .resnet56],
        style: .convolutional, importRules: ImportRules(classifierPrefix: "fc.", stemKey: "conv1.weight"),
        build: { try ResNet(architecture: $0, generator: $1) },
        normalize: { architecture in
            var arch = architecture
            guard let depth = ResNet.Depth(kind: arch.kind) else { return arch }
            arch.width = arch.width ?? depth.defaultWidth            // ResNet.validated
            arch.shortcut = arch.shortcut ?? depth.defaultShortcut
            return arch
        },
        label: { a in
            "ResNet-\(a.kind.rawValue.dropFirst("resNet".count)) (\(a.stem.rawValue) stem, width \(a.width ?? 0), \(a.classCount) classes)"
        })
}

extension ModelVariant {
    /// ResNet-18 with the CIFAR stem (or `--imagenet-stem`), base width 64 unless `--width`;
    /// the demo's CNN (at the demo's width).
    public static let resnet18 = imageNetResNet("resnet18", .resNet18, demo: DemoSettings(
        epochs: 5, trainLimit: nil, testLimit: nil, quickTrainLimit: 12_000, quickTestLimit: 2_000,
        make: { width, classCount, inputChannels in
            ModelArchitecture(kind: .resNet18, classCount: classCount, inputChannels: inputChannels, stem: .cifar, width: width)
        }))
    public static let resnet34 = imageNetResNet("resnet34", .resNet34)
    public static let resnet50 = imageNetResNet("resnet50", .resNet50)
    public static let resnet20 = cifarResNet("resnet20", .resNet20)
    public static let resnet56 = cifarResNet("resnet56", .resNet56)

    /// A 4-stage ResNet: the CIFAR stem with max-pool or ImageNet's, width 64, projection shortcuts.
    private static func imageNetResNet(_ name: String, _ kind: ModelArchitecture.Kind,
                                       demo: DemoSettings? = nil) -> ModelVariant {
        ModelVariant(name: name, kind: kind, sizing: .width, demo: demo) { r in
            ModelArchitecture(kind: kind, classCount: r.classCount, inputChannels: r.inputChannels,
                              stem: r.imageNetStem ? .imageNet : .cifar, width: r.width ?? 64, shortcut: .projection)
        }
    }

    /// A CIFAR ResNet: the stem without max-pool, width 16, projection shortcuts.
    private static func cifarResNet(_ name: String, _ kind: ModelArchitecture.Kind) -> ModelVariant {
        ModelVariant(name: name, kind: kind, sizing: .width) { r in
            ModelArchitecture(kind: kind, classCount: r.classCount, inputChannels: r.inputChannels,
                              stem: .cifarNoMaxPool, width: r.width ?? 16, shortcut: .projection)
        }
    }
}

extension ModelChoice {
    /// The command line's default model.
    public static let resnet18 = ModelChoice(family: .resNet, variant: .resnet18)
}
