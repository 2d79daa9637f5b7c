import Foundation

extension AdaptiveLambda.Settings {
    /// Where the blocks of a compression start, which sets its defaults.
    public enum Start: String, Sendable, CaseIterable {
        /// A new convolutional network: each residual branch starts at zero (the last
        /// BatchNorm's weight), so the blocks start as identities.
        case identities
        /// Trained convolutional blocks (weights from `lacoot import`).
        case trainedConvolutional
        /// A new transformer: no BatchNorm to zero, its blocks never start as identities.
        case newTransformer
        /// Trained transformer blocks (weights from `lacoot import`).
        case trainedTransformer

        /// The start of `compress` on a transformer or a convolutional network, from imported
        /// weights or new.
        public init(transformer: Bool, imported: Bool) {
            switch (transformer, imported) {
            case (false, false): self = .identities
            case (false, true): self = .trainedConvolutional
            case (true, false): self = .newTransformer
            case (true, true): self = .trainedTransformer
            }
        }
    }

    /// `compress`'s defaults for blocks that start as `start` (docs/RESULTS.md measures each).
    /// Blocks that are not identities take the identity path and are ranked by ablation; when
    /// they are chosen and how soon they are gone depends on what the rest of the network needs:
    /// - trained convolutional blocks (weights from `lacoot import`): chosen at 5 % of the steps,
    ///   gone by 30 % — the sooner they are gone, the longer the rest adapts to the new task
    ///   without them (MobileNetV2 on new classes, 10 blocks removed: 71.0 % at 20 %/80 %, 87.1 %
    ///   at 5 %/30 %, plain fine-tune 86.1 %, mean of 2 seeds);
    /// - trained transformer blocks: chosen at 2 %, gone by 15 % — sooner still (the small ViT on
    ///   new classes, 4 of 8 layers removed: 78.7 % at 5 %/30 %, 81.3 % at 2 %/15 %, plain
    ///   fine-tune 80.7 %, mean of 5 seeds; a pretrained Swin-T: 64.8 % at 20 %/80 %, 70.8 % at
    ///   5 %/30 %, 74.2 % at 2 %/15 %, plain fine-tune 67.8 %, mean of 2 seeds);
    /// - a new transformer: chosen at 70 %, gone by 85 % — all its layers train as long as
    ///   possible and the deep ones are then let go (the small ViT, 5 of 8 layers removed: 36.9 %
    ///   at 20 %/80 %, 44.8 % at 70 %/85 %; λ = 0's best collapse 42.2 %);
    public static func compressDefaults(for start: Start) -> Self {
        var settings = Self()
        guard start != .identities else { return settings }
        settings.identityPath = IdentityPath(shape: .linear)
        settings.selection = .ablation
        switch start {
        case .trainedConvolutional: (settings.selectionFraction, settings.reachFraction) = (0.05, 0.3)
        case .trainedTransformer: (settings.selectionFraction, settings.reachFraction) = (0.02, 0.15)
        case .newTransformer: (settings.selectionFraction, settings.reachFraction) = (0.7, 0.85)
        case .identities: break
        }
        return settings
    }
}
