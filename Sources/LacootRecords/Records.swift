import Foundation

// The records the algorithm (LaCoOT) and the workflow produce — block distances, epoch
// metrics, a model's measurement, the steps of a removal curve — in the JSON the run folders
// hold. The report (LacootReport) gathers and renders them; neither of these targets knows of
// tensors.

/// What a network costs and scores at one point: full, or after some blocks were collapsed.
public struct ModelMeasurement: Codable, Sendable, Equatable {
    /// Top-1 test accuracy in percent.
    public var accuracy: Double
    /// Multiply-accumulates for one input (ptflops' convention).
    public var macs: Int
    public var params: Int
    /// Median eval-mode latency at batch 1 and batch 128, in milliseconds (nil when not measured).
    public var latencyB1Ms: Double?
    public var latencyB128Ms: Double?
    /// The spread of those latencies: 10th and 90th percentile of the timed runs (nil when not
    /// measured).
    public var latencyB1SpreadMs: [Double]?
    public var latencyB128SpreadMs: [Double]?

    public init(accuracy: Double, macs: Int, params: Int, latencyB1Ms: Double? = nil, latencyB128Ms: Double? = nil) {
        self.accuracy = accuracy
        self.macs = macs
        self.params = params
        self.latencyB1Ms = latencyB1Ms
        self.latencyB128Ms = latencyB128Ms
    }

    enum CodingKeys: String, CodingKey {
        case accuracy, macs, params
        case latencyB1Ms = "latency_b1_ms"
        case latencyB128Ms = "latency_b128_ms"
        case latencyB1SpreadMs = "latency_b1_p10_p90_ms"
        case latencyB128SpreadMs = "latency_b128_p10_p90_ms"
    }
}

/// One step of a cumulative removal curve: the blocks gone so far and the result.
public struct CurveStep: Codable, Sendable, Equatable {
    /// All blocks removed up to and including this step, in removal order.
    public var removed: [String]
    public var accuracy: Double
    public var macs: Int
    public var params: Int
    public var latencyB1Ms: Double?
    public var latencyB128Ms: Double?
    /// 10th and 90th percentile of the latency runs (nil when not measured).
    public var latencyB1SpreadMs: [Double]?
    public var latencyB128SpreadMs: [Double]?
    /// Accuracy after re-estimating BatchNorm statistics (an extension, reported separately;
    /// nil when not run). The main `accuracy` is always the no-finetuning result.
    public var accuracyBNRecalibrated: Double?

    public init(removed: [String], accuracy: Double, macs: Int, params: Int, latencyB1Ms: Double? = nil,
                latencyB128Ms: Double? = nil, accuracyBNRecalibrated: Double? = nil) {
        self.removed = removed
        self.accuracy = accuracy
        self.macs = macs
        self.params = params
        self.latencyB1Ms = latencyB1Ms
        self.latencyB128Ms = latencyB128Ms
        self.accuracyBNRecalibrated = accuracyBNRecalibrated
    }

    /// The step after `removed`, as `measured` found the model then (latency and its spread
    /// included).
    public init(removed: [String], measured m: ModelMeasurement) {
        self.init(removed: removed, accuracy: m.accuracy, macs: m.macs, params: m.params,
                  latencyB1Ms: m.latencyB1Ms, latencyB128Ms: m.latencyB128Ms)
        latencyB1SpreadMs = m.latencyB1SpreadMs
        latencyB128SpreadMs = m.latencyB128SpreadMs
    }

    enum CodingKeys: String, CodingKey {
        case removed, accuracy, macs, params
        case latencyB1Ms = "latency_b1_ms"
        case latencyB128Ms = "latency_b128_ms"
        case latencyB1SpreadMs = "latency_b1_p10_p90_ms"
        case latencyB128SpreadMs = "latency_b128_p10_p90_ms"
        case accuracyBNRecalibrated = "accuracy_bn_recalibrated"
    }
}

/// A block's distance between its input and output distributions (lower = more removable).
public struct BlockDistance: Codable, Sendable, Equatable {
    public var block: String
    public var distance: Double
    public init(block: String, distance: Double) {
        self.block = block
        self.distance = distance
    }
}

/// Figures of one training epoch.
public struct EpochMetrics: Codable, Sendable, Equatable {
    public var epoch: Int
    public var learningRate: Double
    public var lambda: Double
    /// Mean training loss split into its cross-entropy and λ·MSW parts.
    public var trainLoss: Double
    public var trainCrossEntropy: Double
    public var trainRegularizer: Double
    /// Top-1 accuracy in percent.
    public var trainAccuracy: Double
    public var validationAccuracy: Double?
    /// Per-block distances measured on the validation split after the epoch.
    public var validationDistances: [BlockDistance]
    public var seconds: Double
    public var imagesPerSecond: Double
    /// Each block's λ at the end of the epoch (adaptive λ only; 0 = released).
    public var blockLambdas: [String: Double]?

    public init(epoch: Int, learningRate: Double, lambda: Double, trainLoss: Double, trainCrossEntropy: Double,
                trainRegularizer: Double, trainAccuracy: Double, validationAccuracy: Double?,
                validationDistances: [BlockDistance], seconds: Double, imagesPerSecond: Double) {
        self.epoch = epoch
        self.learningRate = learningRate
        self.lambda = lambda
        self.trainLoss = trainLoss
        self.trainCrossEntropy = trainCrossEntropy
        self.trainRegularizer = trainRegularizer
        self.trainAccuracy = trainAccuracy
        self.validationAccuracy = validationAccuracy
        self.validationDistances = validationDistances
        self.seconds = seconds
        self.imagesPerSecond = imagesPerSecond
    }

    enum CodingKeys: String, CodingKey {
        case epoch, lambda, seconds
        case learningRate = "learning_rate"
        case trainLoss = "train_loss"
        case trainCrossEntropy = "train_cross_entropy"
        case trainRegularizer = "train_regularizer"
        case trainAccuracy = "train_accuracy"
        case validationAccuracy = "validation_accuracy"
        case validationDistances = "validation_distances"
        case imagesPerSecond = "images_per_second"
        case blockLambdas = "block_lambdas"
    }
}
