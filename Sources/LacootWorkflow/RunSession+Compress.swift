import Foundation
import LaCoOT
import LacootReport

extension RunSession {
    /// What `compress` leaves in the folder besides its checkpoint.
    public struct Compression {
        public var outcome: Compressor.Outcome
        /// The collapsed model's manifest (collapsed.json next to collapsed.safetensors).
        public var collapsedModel: URL
    }

    /// Trains with the adaptive λ (or goes on, with `resume`), removes the chosen blocks
    /// (``Compressor``), saves the collapsed model and writes the report. The run's
    /// configuration must have ``TrainingConfig/adaptiveLambda``.
    public func compress(with compressor: Compressor, resume: Bool = false) throws -> Compression {
        let outcome = try compressor.compress(data: data, runFolder: folder, runConfig: config, resume: resume)
        let manifest = try CollapsedModel.save(network, normalization: data.normalization, classNames: data.classNames,
                                               inputShape: data.train.imageShape, to: folder.collapsedManifestURL)
        try folder.writeReport(compressionReport(outcome, compressor: compressor))
        return Compression(outcome: outcome, collapsedModel: manifest)
    }

    /// The report of a compression: one run, its removal curve, the final λ per block.
    func compressionReport(_ outcome: Compressor.Outcome, compressor: Compressor) -> CollapseReport {
        var result = RunResult(label: "adaptive λ, ranked", lambda: outcome.lambdaFinal.values.max() ?? 0, order: .ranked,
                               full: outcome.full, curve: outcome.curve, distances: outcome.distances,
                               training: outcome.history.isEmpty ? (try? folder.readMetrics()) ?? [] : outcome.history)
        let kept = outcome.lambdaFinal.values.filter { $0 > 0 }
        result.lambdaText = "adaptive, final " + (kept.isEmpty ? "0" : String(format: "%.3g–%.3g", kept.min()!, kept.max()!))
        var notes = ["No finetuning. Blocks removed in order of validation distance while validation accuracy stays within \(compressor.maxDrop) points."]
        if compressor.reestimateBatchNorm {
            notes.append("The BatchNorm column: running statistics re-estimated on \(compressor.reestimationImages) training images after the removal — a statistics pass, no gradient step, not finetuning.")
        }
        notes.append("Final λ per block: " + outcome.lambdaFinal.sorted { $0.key < $1.key }
            .map { String(format: "%@ %.3g", $0.key, $0.value) }.joined(separator: ", ") + " (0 = released, trained freely).")
        return .madeNow(title: "Compression of \(folder.url.lastPathComponent)", model: config.model.label,
                        dataset: data.label, budget: config.training.summary,
                        distanceMode: config.training.regularizer.distance.rawValue, runs: [result], notes: notes)
    }
}
