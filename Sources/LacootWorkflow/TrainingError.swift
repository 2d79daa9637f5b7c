import Foundation

/// Why a training run stopped early.
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    /// The loss became NaN or infinite; the last good checkpoint (if any) is kept.
    case nonFiniteLoss(epoch: Int, step: Int, crossEntropy: Double, regularizer: Double, checkpoint: String?)
    /// Cancelled (Ctrl-C, SIGTERM): the step finished and a checkpoint was written.
    case interrupted(epoch: Int, step: Int, checkpoint: String?)
    /// The checkpoint does not belong to this run (other configuration or model); `reason` says how.
    case checkpointMismatch(checkpoint: String, reason: String)
    /// A weight is NaN or infinite (the loss of the last step was still finite): no checkpoint
    /// is written over the last good one.
    case nonFiniteWeights(epoch: Int, parameter: String, checkpoint: String?)
    /// Data-parallel training could not start or continue (rendezvous, a collective).
    case distributed(String)

    public var description: String {
        switch self {
        case let .nonFiniteLoss(epoch, step, ce, reg, checkpoint):
            return "training diverged at epoch \(epoch + 1), step \(step + 1): loss is not finite "
                + "(cross-entropy \(ce), λ·MSW \(reg)); lower --lr or --lambda"
                + (checkpoint.map { "; the last good checkpoint is \($0)" } ?? "")
        case let .nonFiniteWeights(epoch, parameter, checkpoint):
            return "training diverged in epoch \(epoch + 1): \(parameter) holds NaN or infinite values; lower --lr or --lambda"
                + (checkpoint.map { "; the last good checkpoint, kept, is \($0)" } ?? "")
        case let .interrupted(epoch, step, checkpoint):
            return "interrupted at epoch \(epoch + 1), step \(step)"
                + (checkpoint.map { "; checkpoint written to \($0) (continue with --resume)" } ?? "")
        case let .checkpointMismatch(checkpoint, reason):
            return "\(checkpoint) \(reason)"
        case let .distributed(reason):
            return reason
        }
    }
}
