import Foundation
import LacootRecords

/// One trained model collapsed in one removal order.
public struct RunResult: Codable, Sendable, Equatable {
    /// A short name, e.g. "λ=5, ranked".
    public var label: String
    public var lambda: Double
    /// The order in which this run removed the blocks.
    public var order: RemovalOrder
    public var full: ModelMeasurement
    /// One entry per cumulative removal step.
    public var curve: [CurveStep]
    /// Per-block distances used for ranking (validation split, eval mode).
    public var distances: [BlockDistance]
    /// Training history of the model this run collapsed (may be shared between runs).
    public var training: [EpochMetrics]
    /// How λ is shown when it is not one number (`lacoot compress`: "adaptive, 1.4–5"); nil = `lambda`.
    public var lambdaText: String?

    /// λ as the report shows it.
    public var lambdaShown: String { lambdaText ?? ReportFormat.general(lambda) }

    public init(label: String, lambda: Double, order: RemovalOrder, full: ModelMeasurement, curve: [CurveStep],
                distances: [BlockDistance], training: [EpochMetrics]) {
        self.label = label
        self.lambda = lambda
        self.order = order
        self.full = full
        self.curve = curve
        self.distances = distances
        self.training = training
    }
}

/// Everything a report shows: the setting and the runs to compare.
public struct CollapseReport: Codable, Sendable, Equatable {
    public var title: String
    public var createdAt: String
    /// e.g. "ResNet-18 (CIFAR stem, width 16), 1×32×32, 10 classes"
    public var model: String
    public var dataset: String
    /// e.g. "3 epochs, batch 128, SGD lr 0.1 cosine, seed 0"
    public var budget: String
    public var distanceMode: String
    public var engine: String
    public var runs: [RunResult]
    /// Free-form lines shown under the summary (what to conclude, caveats).
    public var notes: [String]

    public init(title: String, createdAt: String, model: String, dataset: String, budget: String,
                distanceMode: String, engine: String, runs: [RunResult], notes: [String] = []) {
        self.title = title
        self.createdAt = createdAt
        self.model = model
        self.dataset = dataset
        self.budget = budget
        self.distanceMode = distanceMode
        self.engine = engine
        self.runs = runs
        self.notes = notes
    }

    enum CodingKeys: String, CodingKey {
        case title, model, dataset, budget, engine, runs, notes
        case createdAt = "created_at"
        case distanceMode = "distance_mode"
    }
}
