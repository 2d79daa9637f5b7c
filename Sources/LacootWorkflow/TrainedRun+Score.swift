import Foundation
import LaCoOT
import LacootRecords
import Models

extension TrainedRun {
    /// Each collapsible block's distance on the validation split (eval mode, directions from
    /// `seed`), written to the folder's scores file with how it was measured, so that a later
    /// collapse measured the same way reuses it. `tap` nil: the run's own.
    @discardableResult
    public func score(distance: SlicedWasserstein = SlicedWasserstein(), tap: FeatureTap? = nil, seed: UInt64 = 0,
                      showProgress: Bool = false) throws -> [BlockDistance] {
        let tap = tap ?? config.training.regularizer.tap
        let scores = try Evaluation.blockDistances(of: model, on: data.validation, normalization: data.normalization,
                                                   distance: distance, tap: tap, seed: seed, progress: showProgress)
        let provenance = try ScoresFile.Provenance(distance: distance, tap: tap, seed: seed, run: self)
        try ScoresFile(provenance: provenance, scores: scores).write(to: folder)
        return scores
    }
}
