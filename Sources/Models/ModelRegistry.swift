/// Every model family this build knows. Adding a family: its own file (the model and its
/// ``ModelFamily`` descriptor) and one line in ``families``.
public enum ModelRegistry {
    /// The families, in the order the command line lists their models.
    public static let families: [ModelFamily] = [
        .resNet,
        .mobileNetV2,
        .visionTransformer,
        .swinTransformer,
    ]

    /// Every kind, family by family.
    public static var kinds: [ModelArchitecture.Kind] { families.flatMap(\.kinds) }

    /// The family that builds `kind`; nil when no registered family does.
    public static func family(of kind: ModelArchitecture.Kind) -> ModelFamily? {
        families.first { $0.kinds.contains(kind) }
    }

    /// Every model the command line names, in its `--help` order.
    public static var choices: [ModelChoice] {
        families.flatMap { family in family.variants.map { ModelChoice(family: family, variant: $0) } }
    }

    /// The names of the models that pass `isIncluded`, in `--help` order
    /// (`names { $0.family.hasMLPBranches }`: vit, vit_b_16, swin_t).
    public static func names(where isIncluded: (ModelChoice) -> Bool) -> [String] {
        choices.filter(isIncluded).map(\.rawValue)
    }
}

/// A registered model the command line names (`--model resnet18`): the variant and its family.
public struct ModelChoice: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let family: ModelFamily
    public let variant: ModelVariant

    init(family: ModelFamily, variant: ModelVariant) {
        self.family = family
        self.variant = variant
    }

    /// The registered model of this name; nil for a name no family offers.
    public init?(rawValue: String) {
        guard let choice = ModelRegistry.choices.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = choice
    }

    /// The name, e.g. "resnet18".
    public var rawValue: String { variant.name }
    public var description: String { rawValue }
    public var kind: ModelArchitecture.Kind { variant.kind }

    /// The architecture for `request`.
    public func architecture(_ request: ModelVariant.Request) -> ModelArchitecture { variant.architecture(request) }

    public static func == (a: ModelChoice, b: ModelChoice) -> Bool { a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
}

extension ModelArchitecture.Kind {
    /// The registered family that builds this kind, or an error naming the kind.
    public var family: ModelFamily {
        get throws {
            guard let family = ModelRegistry.family(of: self) else { throw ModelError.unknownKind(rawValue) }
            return family
        }
    }

    /// Whether this family's collapsible blocks have an MLP branch (``FeatureTap/mlpBranch``);
    /// false for a kind no registered family builds.
    public var hasMLPBranches: Bool { ModelRegistry.family(of: self)?.hasMLPBranches ?? false }
}
