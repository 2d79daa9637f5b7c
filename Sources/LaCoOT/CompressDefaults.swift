import Foundation

extension AdaptiveLambda.Settings {
    /// Where the blocks of a compression start, which sets its defaults.
    public enum Start: String, Sendable, CaseIterable {
        /// A new convolutional network: each residual branch starts at zero (the last
        /// BatchNorm's weight), so the blocks start as identities.
        case identities
        /// Trained convolutional blocks (weights from `lacoot import`).
        case trainedConvolutional
        /// Transformer blocks, new or imported: no BatchNorm to zero, never identities.
        case transformer

        /// The start of `compress` on a family of `style`, from imported weights or not.
        public init(transformer: Bool, imported: Bool) {
            self = transformer ? .transformer : imported ? .trainedConvolutional : .identities
        }
    }

    /// `compress`'s defaults for blocks that start as `start` (docs/RESULTS.md measures each):
    /// blocks that are not identities take the identity path and are ranked by ablation; the
    /// selection and the end of the path come early and close together for trained
    /// convolutional blocks — they are trained already, and the sooner they are gone, the longer
    /// the rest adapts to the new task without them (MobileNetV2 transferred to new classes,
    /// 10 blocks removed: 71.0 % with the selection at 20 % and the path's end at 80 % of the
    /// steps, 87.1 % at 5 % and 30 %; the plain fine-tune's full model 86.1 %).
    public static func compressDefaults(for start: Start) -> Self {
        var settings = Self()
        guard start != .identities else { return settings }
        settings.identityPath = IdentityPath(shape: .linear)
        settings.selection = .ablation
        if start == .trainedConvolutional {
            settings.selectionFraction = 0.05
            settings.reachFraction = 0.3
        }
        return settings
    }
}
