import Foundation
import LaCoOT
import LacootRecords
import LacootReport
import Models

extension TrainedRun {
    /// How to collapse a run: which blocks go (``CollapsePolicy``) in which order, and the
    /// distance that ranks them.
    public struct CollapseRequest {
        public var policy: CollapsePolicy
        public var order: RemovalOrder = .ranked
        public var distance = SlicedWasserstein()
        /// What the distance compares each block's input with (default: the run's tap).
        public var tap: FeatureTap?
        /// Seed of the scoring directions and of the random order.
        public var seed: UInt64 = 0
        public var measureLatency = true
        public var showProgress = false

        public init(policy: CollapsePolicy) { self.policy = policy }
    }

    /// What a collapse leaves in the folder.
    public struct Collapse {
        public var outcome: CollapseOutcome
        /// The collapsed model's manifest (collapsed.json next to collapsed.safetensors).
        public var collapsedModel: URL
    }

    /// Replaces blocks with the identity (no finetuning) — reusing `lacoot score`'s distances
    /// when they were measured the same way on these weights and data — saves the collapsed
    /// model and writes the report with the step-by-step removal curve. The run's model is left
    /// collapsed.
    public func collapse(_ request: CollapseRequest, log: (String) -> Void = { _ in }) throws -> Collapse {
        let names = model.collapsibleBlockNames
        let tap = request.tap ?? config.training.regularizer.tap
        let provenance = try ScoresFile.Provenance(distance: request.distance, tap: tap, seed: request.seed, run: self)
        let distances = ScoresFile.reusable(in: folder, provenance: provenance, blocks: names)
        if distances != nil {
            log("using the block distances in \(folder.scoresURL.path)")
        } else if FileManager.default.fileExists(atPath: folder.scoresURL.path) {
            log("\(folder.scoresURL.path) was made otherwise (distance, seed, tap, weights or data): measuring again")
        }
        let full = try Collapser.copy(of: model)   // for the report's step-by-step curve
        let collapser = Collapser(model: model, normalization: data.normalization, distance: request.distance,
                                  seed: request.seed)
        collapser.tap = tap
        collapser.measureLatency = request.measureLatency
        collapser.showProgress = request.showProgress
        let outcome = try collapser.collapse(policy: request.policy, order: request.order, validation: data.validation,
                                             test: data.test, distances: distances)
        let manifest = try CollapsedModel.save(model, normalization: data.normalization, classNames: data.classNames,
                                               inputShape: data.train.imageShape, to: folder.collapsedManifestURL)

        // the report: this collapse as a one-run curve (cumulative steps of the removed blocks)
        let stepper = Collapser(model: full, normalization: data.normalization, distance: request.distance,
                                seed: request.seed)
        stepper.measureLatency = request.measureLatency
        let curve = try stepper.curve(order: outcome.removed, test: data.test)
        let history = (try? folder.readMetrics()) ?? []
        let trained = imported == nil ? "λ=\(config.training.regularizer.lambda)" : "imported"
        let given: Bool
        if case .blocks = request.policy { given = true } else { given = false }
        let result = RunResult(label: "\(trained), \(request.order.rawValue)", lambda: config.training.regularizer.lambda,
                               order: given ? .given : request.order, full: outcome.before, curve: curve,
                               distances: outcome.distances, training: history)
        let budget = imported.map { "imported from \($0.report.source), not trained here" } ?? config.training.summary
        try folder.writeReport(.madeNow(title: "Collapse of \(folder.url.lastPathComponent)", model: config.model.label,
                                        dataset: data.label, budget: budget, distanceMode: request.distance.mode.rawValue,
                                        runs: [result], notes: ["No finetuning, no BatchNorm recalibration."]))
        return Collapse(outcome: outcome, collapsedModel: manifest)
    }
}
