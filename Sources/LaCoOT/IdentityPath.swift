import Foundation

/// How a block chosen for removal is moved to the identity during training when it does not
/// start there (pretrained weights): its residual branch is multiplied by a scale s that goes
/// from 1 to 0, so the rest of the network learns to do without it while it fades, and at
/// s = 0 the block is exactly the identity — its removal then costs nothing. LaCoOT's
/// distance chooses the blocks (lowest distance per MAC saved) and its per-block λ keeps
/// pulling their output distribution toward their input's on the way.
public struct IdentityPath: Codable, Sendable, Equatable {
    /// The shape of s over the path.
    public enum Shape: String, Codable, Sendable, CaseIterable {
        /// s = 1 − p.
        case linear
        /// s = (1 + cos πp) / 2: slow at both ends.
        case cosine
    }

    public var shape: Shape

    public init(shape: Shape = .linear) {
        self.shape = shape
    }

    /// The scale at `progress` p (0 = the path's start, 1 = its end; clamped).
    public func scale(atProgress progress: Double) -> Double {
        let p = min(1, max(0, progress))
        switch shape {
        case .linear: return 1 - p
        case .cosine: return p >= 1 ? 0 : (1 + cos(Double.pi * p)) / 2
        }
    }
}
