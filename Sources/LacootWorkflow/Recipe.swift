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
        t.momentum = base.momentum
        t.nesterov = false
        t.milestones = []
        t.gamma = base.gamma
        t.tap = .output
        t.gradientClipNorm = nil
        t.labelSmoothing = 0
        t.warmupEpochs = 0
        t.weightDecayScope = .all
        switch self {
        case .cnn:
            t.optimizer = .sgd
            t.learningRate = 0.1
            t.weightDecay = 1e-4
            t.schedule = .cosine
            t.lambda = 5
        case .transformer:
            t.optimizer = .adamw
            t.learningRate = 1e-3
            t.weightDecay = 0.05
            t.weightDecayScope = .weights
            t.schedule = .cosine
            t.warmupEpochs = t.epochs > 1 ? 1 : 0
            t.labelSmoothing = 0.1
            t.gradientClipNorm = 1
            t.lambda = 0.1
        case .swinReference:
            t.optimizer = .sgd
            t.learningRate = 1e-3
            t.weightDecay = 1e-4
            t.schedule = .multistep
            t.milestones = Array(Set([max(1, t.epochs / 2), max(1, t.epochs * 3 / 4)])).sorted()
            t.lambda = 0.1
            t.tap = .mlpBranch
        }
        return t
    }
}
