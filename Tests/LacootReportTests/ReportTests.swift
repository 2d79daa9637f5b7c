import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LacootRecords
import Testing
@testable import LacootReport
import LacootSupport

// MARK: - Sample reports

enum ReportSamples {
    static let blocks = ["layer1.1", "layer2.1", "layer3.1", "layer4.1"]
    static let fullMacs = 140_190_000, blockMacs = 18_870_000
    static let fullParams = 11_173_962
    static let blockParams = ["layer1.1": 73_984, "layer2.1": 295_424, "layer3.1": 1_180_672, "layer4.1": 4_720_640]

    /// A cumulative removal curve in `order` with the given accuracies.
    static func curve(_ order: [String], _ accuracies: [Double], latency: Bool = true) -> [CurveStep] {
        var params = fullParams
        return order.enumerated().map { i, block in
            params -= blockParams[block] ?? 0
            return CurveStep(removed: Array(order.prefix(i + 1)), accuracy: accuracies[i], macs: fullMacs - (i + 1) * blockMacs,
                             params: params, latencyB1Ms: latency ? 7.9 - Double(i + 1) * 0.78 : nil,
                             latencyB128Ms: latency ? 180 - Double(i + 1) * 19.5 : nil)
        }
    }

    static func training(lambda: Double, epochs: Int, finalAccuracy: Double, distances: [Double]) -> [EpochMetrics] {
        (1...epochs).map { e in
            let t = Double(e) / Double(epochs)
            return EpochMetrics(epoch: e, learningRate: 0.1 * 0.5 * (1 + cos(Double.pi * Double(e - 1) / Double(epochs))),
                                lambda: lambda, trainLoss: 1.6 - 1.2 * t + lambda * 0.02 / t, trainCrossEntropy: 1.6 - 1.2 * t,
                                trainRegularizer: lambda * 0.02 / t, trainAccuracy: 60 + 32 * t,
                                validationAccuracy: finalAccuracy - 20 * (1 - t) * (1 - t),
                                validationDistances: zip(blocks, distances).map { BlockDistance(block: $0, distance: $1 * (2 - t)) },
                                seconds: 41.5, imagesPerSecond: 1_084)
        }
    }

    /// Three runs: a LaCoOT model (λ = 5, ranked) and a λ = 0 model collapsed in ranked and random order.
    static func small() -> CollapseReport {
        let d5: [Double] = [0.052, 0.087, 0.034, 0.021]
        let d0: [Double] = [1.35, 3.02, 2.10, 0.91]
        let t5 = training(lambda: 5, epochs: 3, finalAccuracy: 91.3, distances: d5)
        let t0 = training(lambda: 0, epochs: 3, finalAccuracy: 91.9, distances: d0)
        var fullLaCoOT = ModelMeasurement(accuracy: 91.20, macs: fullMacs, params: fullParams, latencyB1Ms: 7.9, latencyB128Ms: 180)
        fullLaCoOT.latencyB1SpreadMs = [7.5, 8.4]
        let lacoot = RunResult(label: "λ=5, ranked", lambda: 5, order: .ranked,
                               full: fullLaCoOT,
                               curve: curve(["layer4.1", "layer3.1", "layer1.1", "layer2.1"], [91.18, 91.05, 90.62, 89.91]),
                               distances: zip(blocks, d5).map { BlockDistance(block: $0, distance: $1) }, training: t5)
        let full0 = ModelMeasurement(accuracy: 91.77, macs: fullMacs, params: fullParams, latencyB1Ms: 7.9, latencyB128Ms: 180)
        let dist0 = zip(blocks, d0).map { BlockDistance(block: $0, distance: $1) }
        let ranked0 = RunResult(label: "λ=0, ranked", lambda: 0, order: .ranked, full: full0,
                                curve: curve(["layer4.1", "layer1.1", "layer3.1", "layer2.1"], [88.40, 61.25, 35.10, 12.03]),
                                distances: dist0, training: t0)
        let random0 = RunResult(label: "λ=0, random", lambda: 0, order: .random, full: full0,
                                curve: curve(["layer2.1", "layer4.1", "layer1.1", "layer3.1"], [54.20, 41.00, 20.30, 10.00]),
                                distances: dist0, training: t0)
        return CollapseReport(title: "LaCoOT demo — ResNet-18 <w16> & Fashion-MNIST", createdAt: "2025-06-01T12:00:00Z",
                              model: "ResNet-18 (CIFAR stem, width 16), 1×32×32, 10 classes", dataset: "Fashion-MNIST (54k train / 6k val / 10k test)",
                              budget: "3 epochs, batch 128, SGD lr 0.1 cosine, seed 0", distanceMode: "reference (K = 50)",
                              engine: "libtorch CPU, 2 threads", runs: [lacoot, ranked0, random0],
                              notes: ["The λ = 5 model keeps 90.62 % with 3 blocks removed.", "Latency is the median of 20 runs."])
    }

    /// A busier report: six runs with long labels, eight blocks, missing latencies, BN recalibration,
    /// a run without a curve, non-finite values and markup in the text.
    static func large() -> CollapseReport {
        let names = (1...8).map { "features.\($0).conv.1 (dw 3×3)" }
        func run(_ i: Int, lambda: Double, order: RemovalOrder, drop: Double) -> RunResult {
            let dist = names.enumerated().map { BlockDistance(block: $1, distance: lambda == 0 ? 2 + Double(($0 * 5) % 8) : 0.01 * Double(1 + ($0 * 3) % 8)) }
            var removed: [String] = []
            let steps = names.enumerated().map { (k, name) -> CurveStep in
                removed.append(name)
                return CurveStep(removed: removed, accuracy: 93 - drop * Double(k * k) / 8, macs: 94_000_000 - (k + 1) * 3_100_000,
                                 params: 2_236_682 - (k + 1) * 9_000, latencyB1Ms: k % 3 == 0 ? nil : 5 - Double(k) * 0.2,
                                 accuracyBNRecalibrated: k % 2 == 0 ? 93 - drop * Double(k * k) / 16 : nil)
            }
            var training: [EpochMetrics] = (1...12).map { (e: Int) -> EpochMetrics in
                let x = Double(e)
                let ramp: Double = min(1, x / 4)
                let regularizer: Double = lambda > 0 ? 0.2 / x : 0
                return EpochMetrics(epoch: e, learningRate: 0.05, lambda: lambda * ramp, trainLoss: 1.8 / x + regularizer,
                                    trainCrossEntropy: 1.8 / x, trainRegularizer: regularizer, trainAccuracy: 50 + 3.5 * x,
                                    validationAccuracy: 48 + 3.6 * x, validationDistances: dist, seconds: 12, imagesPerSecond: 4_000)
            }
            training[3].validationAccuracy = nil
            return RunResult(label: "MobileNetV2 λ=\(ReportFormat.general(lambda)) | \(order.rawValue) order #\(i)", lambda: lambda, order: order,
                             full: ModelMeasurement(accuracy: 93, macs: 94_000_000, params: 2_236_682), curve: steps,
                             distances: dist, training: training)
        }
        var runs = [run(1, lambda: 9, order: .ranked, drop: 0.4), run(2, lambda: 2, order: .ranked, drop: 1.5),
                    run(3, lambda: 0.5, order: .ranked, drop: 3), run(4, lambda: 0, order: .ranked, drop: 9),
                    run(5, lambda: 0, order: .reverse, drop: 11), run(6, lambda: 0, order: .deepestFirst, drop: 12)]
        runs[2].curve[3].accuracy = .nan
        runs[5].curve = []
        return CollapseReport(title: "MobileNetV2 <stress> & \"quotes\"", createdAt: "", model: "MobileNetV2 (CIFAR)", dataset: "CIFAR-10",
                              budget: "12 epochs", distanceMode: "optimized", engine: "libtorch", runs: runs,
                              notes: ["Line one\nwith a newline & <markup>."])
    }
}

// MARK: - Helpers

/// The cells of the Markdown table rows in the section that starts with `heading`.
private func tableRows(_ markdown: String, under heading: String) -> [[String]] {
    let lines = markdown.components(separatedBy: "\n")
    guard let start = lines.firstIndex(of: heading) else { return [] }
    var rows: [[String]] = []
    for line in lines[(start + 1)...] {
        if line.hasPrefix("#") { break }
        guard line.hasPrefix("|"), !line.hasPrefix("|:"), !line.hasPrefix("|-") else { continue }
        rows.append(line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
            .map { $0.trimmingCharacters(in: .whitespaces) })
    }
    return rows
}

private func count(_ needle: String, in haystack: String) -> Int {
    haystack.components(separatedBy: needle).count - 1
}

/// The `<svg …>…</svg>` elements of a page.
private func svgElements(_ html: String) -> [String] {
    html.components(separatedBy: "<svg ").dropFirst().map { "<svg " + ($0.components(separatedBy: "</svg>").first ?? "") + "</svg>" }
}

/// Well-formed enough for XML: every element closed in order (checked here, because the Linux
/// XMLParser recovers from mismatched tags), and accepted by XMLParser (entities, attributes).
private func parsesAsXML(_ text: String) -> Bool {
    var stack: [Substring] = []
    var rest = Substring(text)
    while let open = rest.firstIndex(of: "<") {
        guard let close = rest[open...].firstIndex(of: ">") else { return false }
        let tag = rest[rest.index(after: open)..<close]
        rest = rest[rest.index(after: close)...]
        if tag.hasPrefix("!") || tag.hasPrefix("?") { continue }
        if tag.hasPrefix("/") {
            guard stack.popLast() == tag.dropFirst() else { return false }
        } else if !tag.hasSuffix("/") {
            guard let name = tag.split(whereSeparator: { $0 == " " || $0 == "\n" }).first else { return false }
            stack.append(name)
        }
    }
    guard stack.isEmpty else { return false }
    #if canImport(FoundationXML) || canImport(Darwin)
    return XMLParser(data: Data(text.utf8)).parse()
    #else
    return true
    #endif
}

private func scratchFolder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-\(name)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

// MARK: - Tests

@Suite struct ReportTests {
    @Test func markdownHasTheRightNumbersInTheRightRows() throws {
        let report = ReportSamples.small()
        let md = report.markdown()
        #expect(md.hasPrefix("# LaCoOT demo — ResNet-18 <w16> & Fashion-MNIST\n"))
        #expect(md.contains("- **Dataset:** Fashion-MNIST (54k train / 6k val / 10k test)"))
        #expect(md.contains("- **Distance:** reference (K = 50)"))

        // Run 1 (λ = 5, ranked): step 0 is the full model, step 2 removed layer3.1.
        let run1 = tableRows(md, under: "### λ=5, ranked (λ = 5, order: ranked)")
        #expect(run1.first == ["Step", "Removed block", "Acc. (%)", "Δ vs full (pts)", "MACs (M)", "MACs ratio", "Params (M)",
                               "Latency b1 (ms) [p10–p90]", "Latency b128 (ms) [p10–p90]"])
        #expect(run1.count == 6)
        // a measured spread is shown beside its median; none, the median alone
        #expect(run1[1] == ["0", "— (full model)", "91.20", "0.00", "140.19", "1.000", "11.174", "7.90 [7.50–8.40]", "180.00"])
        #expect(run1[3] == ["2", "layer3.1", "91.05", "-0.15", "102.45", "0.731", "5.273", "6.34", "141.00"])
        #expect(run1[5] == ["4", "layer2.1", "89.91", "-1.29", "64.71", "0.462", "4.903", "4.78", "102.00"])
        // The MACs ratio is step MACs over full MACs.
        #expect(String(format: "%.3f", 102_450_000.0 / 140_190_000.0) == "0.731")

        // Summary: best point within 1 point (run 1: 3 blocks, 90.62 %, 140.19/83.58 = 1.68×).
        let summary = tableRows(md, under: "## Summary")
        #expect(summary.count == 4)
        let header = summary[0]
        #expect(header.contains("vs λ = 0 full (pts)"))
        func cell(_ row: Int, _ column: String) -> String? {
            header.firstIndex(of: column).map { summary[row][$0] }
        }
        #expect(cell(1, "Run") == "λ=5, ranked")
        #expect(cell(1, "Full acc. (%)") == "91.20")
        #expect(cell(1, "Best: blocks removed") == "3 (layer4.1, layer3.1, layer1.1)")
        #expect(cell(1, "Best acc. (%)") == "90.62")
        #expect(cell(1, "Best MACs (M)") == "83.58")
        #expect(cell(1, "MACs reduction") == "1.68×")
        #expect(cell(1, "All removed: acc. (%)") == "89.91 (4 blocks)")
        #expect(cell(1, "vs λ = 0 full (pts)") == "-1.15")
        // The λ = 0 model loses more than a point at the first step: it keeps all blocks.
        #expect(cell(2, "Best: blocks removed") == "0")
        #expect(cell(2, "Best acc. (%)") == "91.77")
        #expect(cell(2, "MACs reduction") == "1.00×")
        #expect(cell(3, "Order") == "random")

        // Distances: the two λ = 0 runs share one column; ranks in parentheses.
        let distances = tableRows(md, under: "## Per-block distances")
        #expect(distances.first == ["Block", "λ = 5", "λ = 0"])
        #expect(distances.count == 5)
        #expect(distances[4] == ["layer4.1", "0.0210 (1)", "0.910 (1)"])
        #expect(distances[2] == ["layer2.1", "0.0870 (4)", "3.020 (4)"])

        // Training: one table per distinct history.
        let training5 = tableRows(md, under: "### λ = 5")
        #expect(training5.first == ["Epoch", "lr", "λ", "Loss", "CE", "λ·MSW", "Train acc. (%)", "Val. acc. (%)", "Time (s)"])
        #expect(training5.count == 4)
        #expect(training5[3][0] == "3")
        #expect(training5[3][7] == "91.30")
        #expect(tableRows(md, under: "### λ = 0").count == 4)
        #expect(md.contains("- The λ = 5 model keeps 90.62 % with 3 blocks removed."))
    }

    @Test func markdownEscapesPipesAndHandlesMissingValues() {
        let md = ReportSamples.large().markdown()
        #expect(md.contains("MobileNetV2 λ=9 \\| ranked order #1"))
        #expect(!md.lowercased().contains("nan |"))
        #expect(md.contains("n/a"))                     // the NaN accuracy
        #expect(md.contains("Acc. BN-recal. (%)"))
        #expect(md.contains("Line one with a newline & <markup>."))
        // Every table row has as many cells as its header.
        var width: Int?
        for line in md.components(separatedBy: "\n") {
            guard line.hasPrefix("|") else { width = nil; continue }
            let cells = line.replacingOccurrences(of: "\\|", with: "").split(separator: "|", omittingEmptySubsequences: false).count
            if let width { #expect(cells == width, "\(line)") } else { width = cells }
        }
    }

    @Test func htmlIsSelfContainedWellFormedAndHasOneLinePerSeries() throws {
        for report in [ReportSamples.small(), ReportSamples.large()] {
            let html = report.html()
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            #expect(parsesAsXML(html), "the page is not well-formed XML")
            #expect(count("<svg ", in: html) == count("</svg>", in: html))
            #expect(count("<svg ", in: html) >= 5)
            #expect(!html.contains("<script"))
            #expect(!html.contains("src=") && !html.contains("href=") && !html.contains("url("))
            for token in ["NaN", "nan", "inf\"", "Infinity"] { #expect(!html.contains(token), "\(token) in the page") }
            let svgs = svgElements(html)
            for svg in svgs {
                #expect(svg.contains(#"xmlns="http://www.w3.org/2000/svg""#))
                #expect(parsesAsXML(svg))
            }
            // Accuracy vs MACs: one polyline per run (all have points) plus the λ = 0 baseline.
            let macsChart = try #require(svgs.first { $0.contains("Test accuracy vs MACs") })
            #expect(count("<polyline", in: macsChart) == report.runs.count + 1)
            for run in report.runs {
                #expect(macsChart.contains(#"data-series="\#(SVGChart.escape(run.label))""#))
            }
            let removedChart = try #require(svgs.first { $0.contains("Test accuracy vs removed blocks") })
            #expect(count("<polyline", in: removedChart) == report.runs.count)
            let bars = try #require(svgs.first { $0.contains("Per-block distance (validation)") })
            #expect(count(#"<rect class="bar""#, in: bars) == report.distanceGroups.reduce(0) { $0 + $1.distances.count })
            let validation = try #require(svgs.first { $0.contains("Validation accuracy per epoch") })
            #expect(count("<polyline", in: validation) == report.trainingGroups.count)
            #expect(svgs.contains { $0.contains("λ·MSW per epoch") })
        }
        let html = ReportSamples.small().html()
        #expect(html.contains("<title>LaCoOT demo — ResNet-18 &lt;w16&gt; &amp; Fashion-MNIST</title>"))
        #expect(html.contains(#"<td class="num">102.45</td>"#))
        #expect(html.contains(#"<td class="num bad">-1.15</td>"#))
    }

    @Test func jsonRoundTripGivesAnEqualReport() throws {
        for report in [ReportSamples.small()] {
            let data = try JSONEncoder().encode(report)
            let back = try JSONDecoder().decode(CollapseReport.self, from: data)
            #expect(back == report)
            let text = String(decoding: data, as: UTF8.self)
            #expect(text.contains("\"distance_mode\"") && text.contains("\"latency_b1_ms\""))
        }
    }

    @Test func theWellFormednessCheckCatchesBrokenMarkup() {
        #expect(parsesAsXML(#"<svg xmlns="x"><g class="a"><rect/></g></svg>"#))
        #expect(!parsesAsXML("<svg><g></svg>"))
        #expect(!parsesAsXML("<svg><g>"))
        #expect(!parsesAsXML("<a>&nbsp;</a>"))
    }

    @Test func chartsHandleEmptyOneAndNonFinitePoints() {
        let empty = SVGChart.line([], options: .init(title: "Empty"))
        #expect(empty.contains("No data") && empty.hasSuffix("</svg>") && parsesAsXML(empty))
        #expect(!empty.contains("<polyline"))

        let series = [
            SVGChart.Series(name: "broken", points: [.init(x: .nan, y: 1), .init(x: 2, y: .infinity)]),
            SVGChart.Series(name: "one <point>", points: [.init(x: 3, y: 50)]),
            SVGChart.Series(name: "gappy", x: [1, 2, 3, 4], y: [10, .nan, 30, 40]),
        ]
        let svg = SVGChart.line(series, options: .init(title: "A & B", xTitle: "x", yTitle: "y", reversedX: true))
        #expect(parsesAsXML(svg))
        #expect(count("<polyline", in: svg) == 2)          // "broken" has no finite point
        #expect(svg.contains("one &lt;point&gt;") && svg.contains("A &amp; B"))
        #expect(!svg.contains("NaN") && !svg.contains("nan") && !svg.contains("inf"))
        let gappy = svg.components(separatedBy: #"data-series="gappy""#)[1]
        let points = gappy.components(separatedBy: #"points=""#)[1].components(separatedBy: "\"")[0]
        #expect(points.split(separator: " ").count == 3)
        // Reversed x: the largest x is drawn leftmost.
        let xs = points.split(separator: " ").map { Double($0.split(separator: ",")[0])! }
        #expect(xs == xs.sorted(by: >))

        let allNaN = SVGChart.line([.init(name: "n", x: [.nan], y: [.nan])])
        #expect(allNaN.contains("No data") && !allNaN.contains("<polyline"))

        let noBars = SVGChart.bars(categories: [], series: [])
        #expect(noBars.contains("No data") && parsesAsXML(noBars))
        let someBars = SVGChart.bars(categories: ["a", "b", "c"], series: [.init(name: "s", values: [1, .nan, -2])])
        #expect(count(#"<rect class="bar""#, in: someBars) == 2 && parsesAsXML(someBars) && !someBars.contains("nan"))
        let vertical = SVGChart.bars(categories: ["layer1.1", "layer2.1"], series: [.init(name: "a", values: [0.5, 0.25]), .init(name: "b", values: [1])],
                                     options: .init(orientation: .vertical))
        #expect(count(#"<rect class="bar""#, in: vertical) == 3 && parsesAsXML(vertical))
    }

    @Test func ticksAreRoundNumbers() {
        #expect(SVGChart.niceTicks(from: 0, to: 91.77) == [0, 20, 40, 60, 80, 100])
        #expect(SVGChart.niceTicks(from: 64.71, to: 140.19) == [60, 80, 100, 120, 140, 160])
        let small = SVGChart.niceTicks(from: 0.021, to: 0.087)
        #expect(small.first! <= 0.021 && small.last! >= 0.087 && small.count <= 8)
        #expect(SVGChart.niceTicks(from: 5, to: 5).count >= 2)
        #expect(ReportFormat.general(0.5) == "0.5" && ReportFormat.general(5) == "5" && ReportFormat.general(0.0123456) == "0.01235")
        #expect(ReportFormat.signed(-0.001) == "0.00" && ReportFormat.signed(0.2) == "+0.20" && ReportFormat.fixed(-0.0001, 2) == "0.00")
    }

    /// Writes the sample reports (JSON, Markdown, HTML) for a person to look at, and checks the
    /// JSON written to disk decodes to the same report.
    @Test func writesSampleReportFiles() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("lacoot-report-samples")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for (name, report) in [("small", ReportSamples.small()), ("large", ReportSamples.large())] {
            let folder = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try AtomicFile.write(report.markdown(), to: folder.appendingPathComponent("report.md"))
            try AtomicFile.write(report.html(), to: folder.appendingPathComponent("report.html"))
            for (i, chart) in report.charts.enumerated() {
                try AtomicFile.write(chart.svg, to: folder.appendingPathComponent("chart\(i).svg"))
            }
            if name == "small" {
                let json = folder.appendingPathComponent("report.json")
                try AtomicFile.writeJSON(report, to: json)
                #expect(try JSONDecoder().decode(CollapseReport.self, from: Data(contentsOf: json)) == report)
            }
        }
    }
}
