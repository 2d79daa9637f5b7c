import Foundation

extension CollapseReport {
    /// The report as one self-contained HTML page (inline CSS and SVG; no scripts, no external
    /// assets; also well-formed XML): the Markdown report's tables plus plots of accuracy vs MACs and vs the number of
    /// removed blocks for every run, the per-block distances, and the training curves.
    public func html() -> String {
        let e = SVGChart.escape
        var body: [String] = []
        body.append("<h1>\(e(title))</h1>")
        if !createdAt.isEmpty { body.append(#"<p class="meta">Created \#(e(createdAt))</p>"#) }

        body.append("<section><h2>Setting</h2><dl class=\"setting\">")
        for (key, value) in settingItems { body.append("<dt>\(e(key))</dt><dd>\(e(value))</dd>") }
        body.append("</dl></section>")

        body.append("<section><h2>Summary</h2>")
        body.append("<p class=\"caption\">\(e(summaryCaption))</p>")
        body.append(#"<div class="scroll">"# + summaryTable.html() + "</div>")
        body.append("</section>")
        if !notes.isEmpty {
            body.append("<section><h2>Notes</h2><ul class=\"notes\">")
            for note in notes { body.append("<li>\(e(note))</li>") }
            body.append("</ul></section>")
        }

        body.append("<section><h2>Plots</h2><div class=\"figures\">")
        for (chart, caption) in charts {
            body.append("<figure>\(chart)<figcaption>\(e(caption))</figcaption></figure>")
        }
        body.append("</div></section>")

        body.append("<section><h2>Removal curves</h2>")
        for run in runs {
            body.append("<h3>\(e(runHeading(run)))</h3>")
            body.append(#"<div class="scroll">"# + curveTable(run).html() + "</div>")
        }
        body.append("</section>")

        let distances = distanceTable
        if !distances.rows.isEmpty {
            body.append("<section><h2>Per-block distances</h2>")
            body.append("<p class=\"caption\">\(e(distanceCaption))</p>")
            body.append(#"<div class="scroll">"# + distances.html() + "</div></section>")
        }
        let training = trainingGroups
        if !training.isEmpty {
            body.append("<section><h2>Training</h2>")
            for group in training {
                body.append("<h3>\(e(group.title))</h3>")
                body.append(#"<div class="scroll">"# + trainingTable(group.epochs).html() + "</div>")
            }
            body.append("</section>")
        }

        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>\(e(title))</title>
        <style>\(Self.css)</style>
        </head>
        <body>
        <main>
        \(body.joined(separator: "\n"))
        </main>
        </body>
        </html>

        """
    }

    /// The report's plots as standalone SVG documents with a caption each, in page order.
    public var charts: [(svg: String, caption: String)] {
        var out: [(String, String)] = []
        let baseline = baselineAccuracy

        // Accuracy vs MACs, one series per run (the full model plus each removal step).
        var macsSeries = runs.enumerated().map { (i, run) in
            SVGChart.Series(name: run.label,
                            points: [SVGChart.Point(x: Double(run.full.macs) / 1e6, y: run.full.accuracy)]
                                + run.curve.map { SVGChart.Point(x: Double($0.macs) / 1e6, y: $0.accuracy) },
                            style: i)
        }
        let allMacs = runs.flatMap { [Double($0.full.macs) / 1e6] + $0.curve.map { Double($0.macs) / 1e6 } }
        if let baseline, let lo = allMacs.min(), let hi = allMacs.max() {
            macsSeries.append(SVGChart.Series(name: "λ = 0 full model", points: [.init(x: lo, y: baseline), .init(x: hi, y: baseline)],
                                              style: SVGChart.palette.count - 1, dashed: true, markers: false))
        }
        out.append((SVGChart.line(macsSeries, options: .init(title: "Test accuracy vs MACs", xTitle: "MACs (M)",
                                                             yTitle: "Top-1 accuracy (%)", markers: true)),
                    "Each point is the model after a cumulative removal step (no finetuning); the rightmost point of a run is its full model."
                        + (baseline != nil ? " Dashed: the full λ = 0 model." : "")))

        // Accuracy vs number of removed blocks.
        let countSeries = runs.enumerated().map { (i, run) in
            SVGChart.Series(name: run.label,
                            points: [SVGChart.Point(x: 0, y: run.full.accuracy)]
                                + run.curve.map { SVGChart.Point(x: Double($0.removed.count), y: $0.accuracy) },
                            style: i)
        }
        out.append((SVGChart.line(countSeries, options: .init(title: "Test accuracy vs removed blocks", xTitle: "Blocks removed",
                                                              yTitle: "Top-1 accuracy (%)", integerX: true)),
                    "Accuracy after each cumulative removal, in each run's order."))

        // Per-block distances.
        let groups = distanceGroups
        if !groups.isEmpty {
            let blocks = distanceBlocks
            let series = groups.enumerated().map { (i, g) in
                SVGChart.BarSeries(name: g.title, values: blocks.map { b in g.distances.first { $0.block == b }?.distance ?? .nan }, style: i)
            }
            out.append((SVGChart.bars(categories: blocks, series: series,
                                      options: .init(title: "Per-block distance (validation)", valueTitle: distanceMode.isEmpty ? "Distance" : "Distance (\(distanceMode))")),
                        "Distance between each block's input and output distributions; lower = closer to the identity."))
        }

        // Training curves.
        let training = trainingGroups
        if !training.isEmpty {
            let validation = training.enumerated().map { (i, g) in
                SVGChart.Series(name: g.title, points: g.epochs.map { SVGChart.Point(x: Double($0.epoch), y: $0.validationAccuracy ?? .nan) }, style: i)
            }
            out.append((SVGChart.line(validation, options: .init(title: "Validation accuracy per epoch", xTitle: "Epoch",
                                                                 yTitle: "Validation accuracy (%)", integerX: true)),
                        "Top-1 accuracy on the validation split after each epoch."))
            let regularizer = training.enumerated().map { (i, g) in
                SVGChart.Series(name: g.title, points: g.epochs.map { SVGChart.Point(x: Double($0.epoch), y: $0.trainRegularizer) }, style: i)
            }
            out.append((SVGChart.line(regularizer, options: .init(title: "λ·MSW per epoch", xTitle: "Epoch",
                                                                  yTitle: "Mean λ·MSW (train)", integerX: true)),
                        "The regularizer's share of the training loss (0 for λ = 0)."))
            for g in training where g.lambda > 0 && g.epochs.contains(where: { !$0.validationDistances.isEmpty }) {
                var names: [String] = []
                for d in g.epochs.flatMap(\.validationDistances) where !names.contains(d.block) { names.append(d.block) }
                let series = names.enumerated().map { (i, block) in
                    SVGChart.Series(name: block, points: g.epochs.map { ep in
                        SVGChart.Point(x: Double(ep.epoch), y: ep.validationDistances.first { $0.block == block }?.distance ?? .nan)
                    }, style: i)
                }
                out.append((SVGChart.line(series, options: .init(title: "Per-block distance per epoch — \(g.title)", xTitle: "Epoch",
                                                                  yTitle: "Validation distance", integerX: true)),
                            "How each block's input/output distance evolves during training."))
            }
        }
        return out
    }

    static let css = """

    :root { color-scheme: light; }
    body { margin: 0; background: #f6f7f9; color: #1b1f24;
           font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
    main { max-width: 1320px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
    h1 { font-size: 26px; margin: 0 0 4px; }
    h2 { font-size: 20px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #dde1e6; }
    h3 { font-size: 16px; margin: 20px 0 8px; }
    .meta, .caption, figcaption { color: #57606a; font-size: 13px; }
    dl.setting { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
    dl.setting dt { font-weight: 600; }
    dl.setting dd { margin: 0; }
    .scroll { overflow-x: auto; }
    table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px; }
    th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; white-space: nowrap; }
    th { background: #f0f3f6; font-weight: 600; white-space: normal; vertical-align: bottom; min-width: 3em; }
    tbody tr:nth-child(even) { background: #fafbfc; }
    td:not(.num) { white-space: normal; min-width: 6em; max-width: 30em; }
    .num { text-align: right; font-variant-numeric: tabular-nums; }
    td.bad { color: #b3261e; font-weight: 600; }
    .figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 16px; }
    figure { margin: 0; padding: 8px; border: 1px solid #e3e6ea; border-radius: 6px; background: #fff; }
    figure svg { display: block; width: 100%; height: auto; }
    ul.notes li { margin: 2px 0; }
    @media print { body { background: #fff; } main { padding: 0; } figure { break-inside: avoid; } }

    """
}
