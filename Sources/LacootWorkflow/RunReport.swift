import Foundation
import LacootReport
import Torch

extension CollapseReport {
    /// A report made now on this engine: what `collapse`, `compress` and the demo write
    /// (report.json / .md / .html, ``RunFolder/writeReport(_:)``).
    public static func madeNow(title: String, model: String, dataset: String, budget: String, distanceMode: String,
                               runs: [RunResult], notes: [String]) -> CollapseReport {
        CollapseReport(title: title, createdAt: ISO8601DateFormatter().string(from: Date()), model: model,
                       dataset: dataset, budget: budget, distanceMode: distanceMode, engine: Runtime.summary,
                       runs: runs, notes: notes)
    }
}
