import Models
import NN

/// A set of training defaults. Flags given explicitly override the recipe's values.
public enum Recipe: String, Codable, Sendable, CaseIterable {
    /// The paper's CNN recipe: SGD lr 0.1, momentum 0.9, weight decay 1e-4 on every
    /// parameter, cosine schedule, λ = 5.
    case cnn
    /// A from-scratch transformer recipe: AdamW lr 1e-3, weight decay 0.05 on weights only
    /// (none on norms, biases, position tables, class tokens), one epoch of linear warm-up then
    /// cosine, label smoothing 0.1, gradients clipped to norm 1, λ = 0.1.
    case transformer
    /// The reference code's Swin-T fine-tuning recipe: SGD lr 1e-3, momentum 0.9, weight decay
    /// 1e-4 (batch 128: the default batch size), the learning rate ×0.1 at 50 % and 75 % of the epochs (80 and 120 of
    /// 160), λ = 0.1 (its CIFAR-10 value), the MLP-branch tap.
    case swinReference = "swin-reference"

    /// The recipe a model family trains with unless told otherwise.
    public static func `default`(for family: ModelFamily) -> Recipe {
        switch family.style {
        case .convolutional: .cnn
        case .transformer: .transformer
        }
    }

    /// `config` with this recipe's values (epochs, data and execution fields are kept).
    public func applied(to config: TrainingConfig) -> TrainingConfig {
        var t = config
        let base = TrainingConfig()
        t.optimizer.momentum = base.optimizer.momentum
        t.optimizer.nesterov = false
        t.schedule.milestones = []
        t.schedule.gamma = base.schedule.gamma
        t.regularizer.tap = .output
        t.optimizer.gradientClipNorm = nil
        t.labelSmoothing = 0
        t.schedule.warmupEpochs = 0
        t.optimizer.weightDecayScope = .all
        switch self {
        case .cnn:
            t.optimizer.kind = .sgd
            t.optimizer.learningRate = 0.1
            t.optimizer.weightDecay = 1e-4
            t.schedule.kind = .cosine
            t.regularizer.lambda = 5
        case .transformer:
            t.optimizer.kind = .adamw
            t.optimizer.learningRate = 1e-3
            t.optimizer.weightDecay = 0.05
            t.optimizer.weightDecayScope = .weights
            t.schedule.kind = .cosine
            t.schedule.warmupEpochs = t.epochs > 1 ? 1 : 0
            t.labelSmoothing = 0.1
            t.optimizer.gradientClipNorm = 1
            t.regularizer.lambda = 0.1
        case .swinReference:
            t.optimizer.kind = .sgd
            t.optimizer.learningRate = 1e-3
            t.optimizer.weightDecay = 1e-4
            t.schedule.kind = .multistep
            t.schedule.milestones = Array(Set([max(1, t.epochs / 2), max(1, t.epochs * 3 / 4)])).sorted()
            t.regularizer.lambda = 0.1
            t.regularizer.tap = .mlpBranch
        }
        return t
    }
}
