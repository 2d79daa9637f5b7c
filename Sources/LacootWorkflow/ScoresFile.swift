import Foundation
import LaCoOT
import LacootRecords
import LacootSupport
import Models

/// A run's `scores.json`: the block distances `lacoot score` measured and how — distance,
/// directions, tap, seed, and the checkpoint they were measured on — so that `collapse`
/// reuses them only when they are what it would measure itself.
public struct ScoresFile: Codable, Sendable, Equatable {
    /// How the scores were made; two equal provenances give the same scores.
    public struct Provenance: Codable, Sendable, Equatable {
        public var distance: String
        public var projections: Int
        public var ascentSteps: Int
        public var tap: String
        public var seed: UInt64
        /// The weights file's size and modification time (a new training changes them): the
        /// checkpoint, or the imported model.
        public var checkpointBytes: Int
        public var checkpointModified: Double
        /// The data the scores were measured on, for imported weights (whose data each command
        /// names); nil for a trained run (its config.json fixes the data).
        public var data: DataConfig?

        /// The provenance of scores measured now on `folder`'s checkpoint.
        public init(distance: SlicedWasserstein, tap: FeatureTap, seed: UInt64, folder: RunFolder) throws {
            try self.init(distance: distance, tap: tap, seed: seed, weights: folder.checkpointURL, data: nil)
        }

        /// The provenance of scores measured now on `run`: its weights, and its data when they
        /// were imported.
        public init(distance: SlicedWasserstein, tap: FeatureTap, seed: UInt64, run: TrainedRun) throws {
            try self.init(distance: distance, tap: tap, seed: seed, weights: run.weightsURL,
                          data: run.imported == nil ? nil : run.config.data)
        }

        init(distance: SlicedWasserstein, tap: FeatureTap, seed: UInt64, weights: URL, data: DataConfig?) throws {
            self.distance = distance.mode.rawValue
            projections = distance.projectionCount
            ascentSteps = distance.ascentSteps
            self.tap = tap.rawValue
            self.seed = seed
            let attributes = try FileManager.default.attributesOfItem(atPath: weights.path)
            checkpointBytes = (attributes[.size] as? NSNumber)?.intValue ?? -1
            checkpointModified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
            self.data = data
        }
    }

    public var provenance: Provenance
    public var scores: [BlockDistance]

    public init(provenance: Provenance, scores: [BlockDistance]) {
        self.provenance = provenance
        self.scores = scores
    }

    public func write(to folder: RunFolder) throws { try AtomicFile.writeJSON(self, to: folder.scoresURL) }

    /// The folder's scores when they were made as `provenance` says and cover `blocks`; nil
    /// otherwise (missing, an older format without provenance, another distance, seed, tap or
    /// checkpoint).
    public static func reusable(in folder: RunFolder, provenance: Provenance, blocks: [String]) -> [BlockDistance]? {
        guard let data = FileManager.default.contents(atPath: folder.scoresURL.path),
              let saved = try? JSONDecoder().decode(ScoresFile.self, from: data),
              saved.provenance == provenance, Set(saved.scores.map(\.block)) == Set(blocks) else { return nil }
        return saved.scores
    }
}
