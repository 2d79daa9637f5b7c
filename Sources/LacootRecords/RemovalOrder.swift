/// The order in which blocks are removed, as a report's runs record it. The LaCoOT target
/// adds `arrange(_:distances:seed:)`, which sorts a model's blocks into this order.
public enum RemovalOrder: String, Codable, Sendable, CaseIterable {
    /// LaCoOT: lowest distance first.
    case ranked
    /// A seeded random order (ablation).
    case random
    /// Highest distance first (ablation: should be the worst).
    case reverse
    /// The reference's fixed ResNet order: the deepest block first.
    case deepestFirst = "deepest-first"
    /// The blocks the user listed, in the order given.
    case given

    /// The orders a user can choose (all but ``given``, which naming the blocks implies).
    public static let choosable: [RemovalOrder] = [.ranked, .random, .reverse, .deepestFirst]
}
