import Foundation
import LacootRecords

// MARK: - Computed helpers on the report model

extension RunResult {
    /// The accuracy drop (in points) tolerated by `bestStep` by default.
    public static let defaultMaxDrop = 1.0

    /// The curve step with the fewest MACs whose accuracy is at most `maxDrop` points below the
    /// full model's (ties: the higher accuracy); nil when no step qualifies (keep the full model).
    /// Every step of a removal curve is a usable model, so any step may win, not only a prefix.
    public func bestStep(maxDrop: Double = RunResult.defaultMaxDrop) -> CurveStep? {
        curve.filter { $0.accuracy.isFinite && $0.accuracy >= full.accuracy - maxDrop }
            .min { a, b in a.macs != b.macs ? a.macs < b.macs : a.accuracy > b.accuracy }
    }

    /// `step.macs / full.macs` (1 = nothing saved); NaN when the full MACs are unknown (0).
    public func macsRatio(_ step: CurveStep) -> Double {
        full.macs > 0 ? Double(step.macs) / Double(full.macs) : .nan
    }

    /// The blocks a step removed beyond the previous one (usually one name).
    public func newlyRemoved(at index: Int) -> [String] {
        guard curve.indices.contains(index) else { return [] }
        let before = index > 0 ? Set(curve[index - 1].removed) : []
        return curve[index].removed.filter { !before.contains($0) }
    }
}

extension CollapseReport {
    /// The full test accuracy of the model trained with λ = 0 (the best one if several), the
    /// baseline a collapsed LaCoOT model must be compared with; nil without a λ = 0 run.
    public var baselineAccuracy: Double? {
        runs.filter { $0.lambda == 0 && $0.full.accuracy.isFinite }.map(\.full.accuracy).max()
    }

    /// Distinct per-block distance sets (runs that collapsed the same model share one), each with
    /// a column title ("λ = 5", or the run label when two sets have the same λ) and the λ.
    var distanceGroups: [(title: String, lambda: Double, distances: [BlockDistance])] {
        var groups: [(label: String, shown: String, lambda: Double, distances: [BlockDistance])] = []
        for run in runs where !run.distances.isEmpty {
            if groups.contains(where: { $0.lambda == run.lambda && $0.distances == run.distances }) { continue }
            groups.append((run.label, run.lambdaShown, run.lambda, run.distances))
        }
        return groups.map { g in
            let shared = groups.filter { $0.lambda == g.lambda }.count > 1
            return (shared ? g.label : "λ = \(g.shown)", g.lambda, g.distances)
        }
    }

    /// Distinct training histories, titled like `distanceGroups`.
    var trainingGroups: [(title: String, lambda: Double, epochs: [EpochMetrics])] {
        var groups: [(label: String, shown: String, lambda: Double, epochs: [EpochMetrics])] = []
        for run in runs where !run.training.isEmpty {
            if groups.contains(where: { $0.epochs == run.training }) { continue }
            groups.append((run.label, run.lambdaShown, run.lambda, run.training))
        }
        return groups.map { g in
            let shared = groups.filter { $0.lambda == g.lambda }.count > 1
            return (shared ? g.label : "λ = \(g.shown)", g.lambda, g.epochs)
        }
    }

    /// Block names in order of first appearance over all runs' distances.
    var distanceBlocks: [String] {
        var seen = Set<String>(), blocks: [String] = []
        for g in distanceGroups {
            for d in g.distances where seen.insert(d.block).inserted { blocks.append(d.block) }
        }
        return blocks
    }
}

// MARK: - Markdown

extension CollapseReport {
    /// The report as GitHub-flavoured Markdown: title, setting, summary table, one removal-curve
    /// table per run, the per-block distances, the training history and the notes.
    /// Accuracies in percent with 2 decimals, MACs in millions with 2 decimals.
    public func markdown() -> String {
        var out: [String] = []
        out.append("# \(ReportFormat.inline(title))")
        out.append("")
        if !createdAt.isEmpty { out.append("_Created \(ReportFormat.inline(createdAt))._"); out.append("") }
        out.append("## Setting")
        out.append("")
        for (key, value) in settingItems {
            out.append("- **\(key):** \(ReportFormat.inline(value))")
        }
        out.append("")
        out.append("## Summary")
        out.append("")
        out.append(ReportFormat.inline(summaryCaption))
        out.append("")
        out.append(summaryTable.markdown())
        if !notes.isEmpty {
            out.append("")
            out.append("## Notes")
            out.append("")
            for note in notes { out.append("- \(ReportFormat.inline(note))") }
        }
        out.append("")
        out.append("## Removal curves")
        for run in runs {
            out.append("")
            out.append("### \(ReportFormat.inline(runHeading(run)))")
            out.append("")
            out.append(curveTable(run).markdown())
        }
        let distances = distanceTable
        if !distances.rows.isEmpty {
            out.append("")
            out.append("## Per-block distances")
            out.append("")
            out.append(ReportFormat.inline(distanceCaption))
            out.append("")
            out.append(distances.markdown())
        }
        let training = trainingGroups
        if !training.isEmpty {
            out.append("")
            out.append("## Training")
            for group in training {
                out.append("")
                out.append("### \(ReportFormat.inline(group.title))")
                out.append("")
                out.append(trainingTable(group.epochs).markdown())
            }
        }
        out.append("")
        return out.joined(separator: "\n")
    }

    // Shared by the Markdown and HTML renderers.

    var settingItems: [(String, String)] {
        [("Model", model), ("Dataset", dataset), ("Budget", budget), ("Distance", distanceMode), ("Engine", engine)]
            .filter { !$0.1.isEmpty }
    }

    var summaryCaption: String {
        "Best point: the removal step with the fewest MACs whose test accuracy is within "
            + "\(ReportFormat.general(RunResult.defaultMaxDrop)) point of the run's full model (no finetuning)."
            + (baselineAccuracy != nil ? " “vs λ = 0 full”: that accuracy minus the full λ = 0 model's." : "")
    }

    var distanceCaption: String {
        "Distance between each block's input and output on the validation split (lower = more removable); "
            + "rank in parentheses (1 = removed first in ranked order)."
    }

    func runHeading(_ run: RunResult) -> String {
        "\(run.label) (λ = \(run.lambdaShown), order: \(run.order.rawValue))"
    }

    var summaryTable: ReportTable {
        let baseline = baselineAccuracy
        var headers = ["Run", "λ", "Order", "Full acc. (%)", "Full MACs (M)", "Best: blocks removed", "Best acc. (%)",
                       "Δ vs full (pts)", "Best MACs (M)", "MACs reduction", "All removed: acc. (%)"]
        if baseline != nil { headers.append("vs λ = 0 full (pts)") }
        var rows: [[String]] = []
        for run in runs {
            let best = run.bestStep()
            let acc = best?.accuracy ?? run.full.accuracy
            let macs = best?.macs ?? run.full.macs
            let removed = best?.removed ?? []
            let names = removed.joined(separator: ", ")
            let reduction = macs > 0 ? Double(run.full.macs) / Double(macs) : .nan
            var row = [run.label, run.lambdaShown, run.order.rawValue,
                       ReportFormat.accuracy(run.full.accuracy), ReportFormat.macs(run.full.macs),
                       removed.isEmpty || names.count > 48 ? "\(removed.count)" : "\(removed.count) (\(names))",
                       ReportFormat.accuracy(acc), ReportFormat.signed(acc - run.full.accuracy),
                       ReportFormat.macs(macs), ReportFormat.times(reduction),
                       run.curve.last.map { "\(ReportFormat.accuracy($0.accuracy)) (\($0.removed.count) blocks)" } ?? "—"]
            if let baseline { row.append(ReportFormat.signed(acc - baseline)) }
            rows.append(row)
        }
        return ReportTable(headers: headers, rows: rows, numeric: headers.map { !["Run", "Order", "Best: blocks removed"].contains($0) })
    }

    func curveTable(_ run: RunResult) -> ReportTable {
        let steps = run.curve
        let hasB1 = run.full.latencyB1Ms != nil || steps.contains { $0.latencyB1Ms != nil }
        let hasB128 = run.full.latencyB128Ms != nil || steps.contains { $0.latencyB128Ms != nil }
        let hasBN = steps.contains { $0.accuracyBNRecalibrated != nil }
        var headers = ["Step", "Removed block", "Acc. (%)", "Δ vs full (pts)", "MACs (M)", "MACs ratio", "Params (M)"]
        if hasB1 { headers.append("Latency b1 (ms) [p10–p90]") }
        if hasB128 { headers.append("Latency b128 (ms) [p10–p90]") }
        if hasBN { headers.append("Acc. BN-recal. (%)") }
        var fullRow = ["0", "— (full model)", ReportFormat.accuracy(run.full.accuracy), ReportFormat.signed(0),
                       ReportFormat.macs(run.full.macs), ReportFormat.ratio(run.full.macs > 0 ? 1 : .nan),
                       ReportFormat.params(run.full.params)]
        if hasB1 { fullRow.append(ReportFormat.ms(run.full.latencyB1Ms, spread: run.full.latencyB1SpreadMs)) }
        if hasB128 { fullRow.append(ReportFormat.ms(run.full.latencyB128Ms, spread: run.full.latencyB128SpreadMs)) }
        if hasBN { fullRow.append("—") }
        var rows = [fullRow]
        for (i, step) in steps.enumerated() {
            let new = run.newlyRemoved(at: i)
            var row = ["\(step.removed.count)", new.isEmpty ? "—" : new.joined(separator: ", "),
                       ReportFormat.accuracy(step.accuracy), ReportFormat.signed(step.accuracy - run.full.accuracy),
                       ReportFormat.macs(step.macs), ReportFormat.ratio(run.macsRatio(step)), ReportFormat.params(step.params)]
            if hasB1 { row.append(ReportFormat.ms(step.latencyB1Ms, spread: step.latencyB1SpreadMs)) }
            if hasB128 { row.append(ReportFormat.ms(step.latencyB128Ms, spread: step.latencyB128SpreadMs)) }
            if hasBN { row.append(step.accuracyBNRecalibrated.map(ReportFormat.accuracy) ?? "—") }
            rows.append(row)
        }
        return ReportTable(headers: headers, rows: rows, numeric: headers.map { $0 != "Removed block" })
    }

    var distanceTable: ReportTable {
        let groups = distanceGroups
        let blocks = distanceBlocks
        let headers = ["Block"] + groups.map(\.title)
        // Rank (1 = lowest distance) within each group.
        let ranks: [[String: Int]] = groups.map { g in
            let sorted = g.distances.filter(\.distance.isFinite).sorted { $0.distance < $1.distance }
            return Dictionary(sorted.enumerated().map { ($1.block, $0 + 1) }, uniquingKeysWith: { a, _ in a })
        }
        // One number of decimals per column: 3 significant digits for its smallest value.
        let decimals: [Int?] = groups.map { g in
            guard let smallest = g.distances.map({ abs($0.distance) }).filter({ $0.isFinite && $0 > 0 }).min(),
                  smallest >= 1e-4 else { return nil }
            return min(6, max(0, 2 - Int(log10(smallest).rounded(.down))))
        }
        let rows = blocks.map { block in
            [block] + groups.enumerated().map { (i, g) in
                guard let d = g.distances.first(where: { $0.block == block }) else { return "—" }
                let value = decimals[i].map { ReportFormat.fixed(d.distance, $0) } ?? ReportFormat.distance(d.distance)
                return value + (ranks[i][block].map { " (\($0))" } ?? "")
            }
        }
        return ReportTable(headers: headers, rows: rows, numeric: headers.indices.map { $0 > 0 })
    }

    func trainingTable(_ epochs: [EpochMetrics]) -> ReportTable {
        let headers = ["Epoch", "lr", "λ", "Loss", "CE", "λ·MSW", "Train acc. (%)", "Val. acc. (%)", "Time (s)"]
        let rows = epochs.map { e in
            ["\(e.epoch)", ReportFormat.general(e.learningRate), ReportFormat.general(e.lambda),
             ReportFormat.fixed(e.trainLoss, 4), ReportFormat.fixed(e.trainCrossEntropy, 4),
             ReportFormat.fixed(e.trainRegularizer, 4), ReportFormat.accuracy(e.trainAccuracy),
             e.validationAccuracy.map(ReportFormat.accuracy) ?? "—", ReportFormat.fixed(e.seconds, 1)]
        }
        return ReportTable(headers: headers, rows: rows, numeric: headers.map { _ in true })
    }
}

// MARK: - Tables and number formatting

/// A plain table rendered to Markdown or HTML.
struct ReportTable {
    var headers: [String]
    var rows: [[String]]
    /// Right-align this column (numbers).
    var numeric: [Bool]

    func markdown() -> String {
        let cell: (String) -> String = { ReportFormat.inline($0).replacingOccurrences(of: "|", with: "\\|") }
        var lines = ["| " + headers.map(cell).joined(separator: " | ") + " |"]
        lines.append("|" + headers.indices.map { numeric[$0] ? "---:" : ":---" }.joined(separator: "|") + "|")
        for row in rows {
            let padded = row + Array(repeating: "", count: max(0, headers.count - row.count))
            lines.append("| " + padded.prefix(headers.count).map(cell).joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }

    func html(caption: String? = nil) -> String {
        var out = ["<table>"]
        if let caption { out.append("<caption>\(SVGChart.escape(caption))</caption>") }
        out.append("<thead><tr>" + headers.indices.map { i in
            "<th\(numeric[i] ? #" class="num""# : "")>\(SVGChart.escape(headers[i]))</th>"
        }.joined() + "</tr></thead>")
        out.append("<tbody>")
        for row in rows {
            out.append("<tr>" + headers.indices.map { i in
                let v = i < row.count ? row[i] : ""
                // A difference column beyond the tolerated drop is highlighted.
                let isDelta = headers[i].hasPrefix("Δ") || headers[i].hasPrefix("vs")
                let bad = isDelta && (Double(v).map { $0 < -RunResult.defaultMaxDrop } ?? false)
                let cls = [numeric[i] ? "num" : nil, bad ? "bad" : nil].compactMap { $0 }.joined(separator: " ")
                return "<td\(cls.isEmpty ? "" : #" class="\#(cls)""#)>\(SVGChart.escape(v))</td>"
            }.joined() + "</tr>")
        }
        out.append("</tbody></table>")
        return out.joined(separator: "\n")
    }
}

/// Number formatting shared by the Markdown, HTML and SVG writers. Non-finite values print as
/// "n/a" and missing ones as "—"; a value that rounds to zero never prints as "-0".
enum ReportFormat {
    static func fixed(_ v: Double, _ decimals: Int) -> String {
        guard v.isFinite else { return "n/a" }
        var s = String(format: "%.\(max(0, decimals))f", v)
        if s.hasPrefix("-"), s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { s.removeFirst() }
        return s
    }

    /// Accuracy in percent, 2 decimals.
    static func accuracy(_ v: Double) -> String { fixed(v, 2) }
    /// A difference in points with its sign: "+0.12", "-1.30", "0.00".
    static func signed(_ v: Double, _ decimals: Int = 2) -> String {
        let s = fixed(v, decimals)
        guard v.isFinite, !s.hasPrefix("-"), s.contains(where: { $0 != "0" && $0 != "." }) else { return s }
        return "+" + s
    }
    /// MACs in millions, 2 decimals.
    static func macs(_ v: Int) -> String { fixed(Double(v) / 1e6, 2) }
    /// Parameters in millions, 3 decimals.
    static func params(_ v: Int) -> String { fixed(Double(v) / 1e6, 3) }
    /// Milliseconds, 2 decimals; "—" when not measured.
    static func ms(_ v: Double?) -> String { v.map { fixed($0, 2) } ?? "—" }
    /// A median latency with its 10th–90th percentile spread: "0.41 [0.40–0.45]".
    static func ms(_ v: Double?, spread: [Double]?) -> String {
        guard let v else { return "—" }
        guard let spread, spread.count == 2 else { return fixed(v, 2) }
        return "\(fixed(v, 2)) [\(fixed(spread[0], 2))–\(fixed(spread[1], 2))]"
    }
    /// A ratio, 3 decimals.
    static func ratio(_ v: Double) -> String { fixed(v, 3) }
    /// A factor such as a MACs reduction: "2.17×".
    static func times(_ v: Double) -> String { v.isFinite ? fixed(v, 2) + "×" : "n/a" }
    /// A distance, 4 significant digits.
    static func distance(_ v: Double) -> String { general(v) }

    /// 4 significant digits without trailing zeros ("5", "0.5", "0.0123"); scientific outside 1e-3…1e5.
    static func general(_ v: Double, significant: Int = 4) -> String {
        guard v.isFinite else { return "n/a" }
        if v == 0 { return "0" }
        let magnitude = Int(log10(abs(v)).rounded(.down))
        if abs(v) < 1e-3 || abs(v) >= 1e5 {
            return String(format: "%.\(significant - 1)e", v)
        }
        var s = fixed(v, max(0, significant - 1 - magnitude))
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }

    /// One line of user text for Markdown: newlines folded to spaces.
    static func inline(_ s: String) -> String {
        s.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
    }
}
