/// How `compress` ranks the blocks to remove when it selects them (after the first 20 % of
/// the steps): the cheapest per MAC saved first, until the MACs target is met.
public enum BlockSelection: String, Codable, Sendable, CaseIterable {
    /// LaCoOT's own criterion: the block's running Max-Sliced Wasserstein distance between its
    /// input and output. Right when blocks move toward the identity under the regularizer
    /// (a network trained from its usual initialization).
    case distance
    /// The cross-entropy increase on a training batch when the block alone is bypassed (its
    /// residual branch scaled to 0, evaluation mode). For blocks far from the identity
    /// (pretrained weights, transformers), whose distances say little about what removing
    /// them costs.
    case ablation
}
