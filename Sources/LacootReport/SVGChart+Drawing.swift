import Foundation

// The drawing pieces the charts share: geometry, axes, text widths, the legend, the writer.
extension SVGChart {
    struct Rect { var x, y, w, h: Double }

    /// A linear axis over round ticks.
    struct Axis {
        var lo: Double
        var hi: Double
        var step: Double
        var ticks: [Double]
        var decimals: Int

        static func make(values: [Double], domain: ClosedRange<Double>?, integer: Bool, target: Int = 5) -> Axis {
            var lo = domain?.lowerBound ?? values.filter(\.isFinite).min() ?? 0
            var hi = domain?.upperBound ?? values.filter(\.isFinite).max() ?? 1
            if !lo.isFinite || !hi.isFinite { lo = 0; hi = 1 }
            if hi < lo { swap(&lo, &hi) }
            if hi - lo <= max(abs(hi), abs(lo)) * 1e-12 {
                let pad = lo == 0 ? 1 : abs(lo) * 0.05
                lo -= pad
                hi += pad
            }
            let rough = (hi - lo) / Double(max(target, 1))
            let magnitude = pow(10, (log10(rough)).rounded(.down))
            let f = rough / magnitude
            var step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * magnitude
            if integer { step = max(1, step.rounded()) }
            let first = (lo / step).rounded(.down) * step
            let last = (hi / step).rounded(.up) * step
            let count = Int(((last - first) / step).rounded()) + 1
            let ticks = (0..<max(count, 2)).map { first + Double($0) * step }
            let decimals = max(0, Int((-log10(step) - 1e-9).rounded(.up)))
            return Axis(lo: first, hi: ticks.last ?? last, step: step, ticks: ticks, decimals: min(decimals, 8))
        }

        /// The round axis that wastes the least room around the data: 4 to 7 intervals tried, at
        /// most 11 ticks, ties to the fewer ticks.
        static func fitted(values: [Double], domain: ClosedRange<Double>?, integer: Bool) -> Axis {
            let finite = values.filter(\.isFinite)
            let lo = domain?.lowerBound ?? finite.min() ?? 0
            let hi = domain?.upperBound ?? finite.max() ?? 1
            var best = make(values: values, domain: domain, integer: integer, target: 5)
            guard hi > lo else { return best }
            var bestCoverage = (hi - lo) / (best.hi - best.lo)
            for target in [4, 6, 7] {
                let axis = make(values: values, domain: domain, integer: integer, target: target)
                let coverage = (hi - lo) / (axis.hi - axis.lo)
                if axis.ticks.count <= 11, coverage > bestCoverage + 1e-9 || (abs(coverage - bestCoverage) <= 1e-9 && axis.ticks.count < best.ticks.count) {
                    best = axis
                    bestCoverage = coverage
                }
            }
            return best
        }

        func fraction(_ v: Double) -> Double { hi == lo ? 0.5 : (v - lo) / (hi - lo) }
        func label(_ v: Double) -> String { ReportFormat.fixed(v, decimals) }
    }

    /// Rough text metrics for a 12 px sans-serif font.
    enum Text {
        static let charWidth = 6.9
        static func width(_ count: Int) -> Double { Double(count) * charWidth }
        static func width(_ s: String) -> Double { width(s.count) }
        static func truncate(_ s: String, toWidth w: Double) -> String {
            let maxChars = max(Int(w / charWidth), 3)
            return s.count <= maxChars ? s : String(s.prefix(maxChars - 1)) + "…"
        }
    }

    /// A legend laid out in rows that wrap within `maxWidth`.
    struct Legend {
        static let rowHeight = 18.0
        var items: [(name: String, style: Int, dashed: Bool, marker: Bool)]
        var x: Double
        var maxWidth: Double
        var withLine: Bool
        var rows: [[(name: String, style: Int, dashed: Bool, marker: Bool, dx: Double)]] = []

        init(items: [(name: String, style: Int, dashed: Bool, marker: Bool)], x: Double, maxWidth: Double, withLine: Bool) {
            self.items = items
            self.x = x
            self.maxWidth = maxWidth
            self.withLine = withLine
            guard maxWidth > 0 else { return }
            var row: [(name: String, style: Int, dashed: Bool, marker: Bool, dx: Double)] = []
            var cursor = 0.0
            for item in items {
                let label = Text.truncate(item.name, toWidth: maxWidth - 40)
                let w = (withLine ? 26 : 16) + Text.width(label) + 18
                if cursor > 0, cursor + w > maxWidth {
                    rows.append(row)
                    row = []
                    cursor = 0
                }
                row.append((label, item.style, item.dashed, item.marker, cursor))
                cursor += w
            }
            if !row.isEmpty { rows.append(row) }
        }

        var height: Double { Double(rows.count) * Self.rowHeight }

        func draw(into svg: inout SVGWriter, y: Double) {
            guard !rows.isEmpty else { return }
            svg.add(##"<g class="legend">"##)
            for (r, row) in rows.enumerated() {
                let cy = y + Double(r) * Self.rowHeight + Self.rowHeight / 2
                for item in row {
                    let x0 = x + item.dx
                    let color = SVGChart.color(item.style)
                    let textX: Double
                    if withLine {
                        let dash = (item.dashed || item.style >= SVGChart.palette.count) ? ##" stroke-dasharray="6 4""## : ""
                        svg.add(##"<line x1="\##(n(x0))" y1="\##(n(cy))" x2="\##(n(x0 + 22))" y2="\##(n(cy))" stroke="\##(color)" stroke-width="2"\##(dash)/>"##)
                        if item.marker { svg.add(SVGChart.marker(style: item.style, x: x0 + 11, y: cy, color: color)) }
                        textX = x0 + 26
                    } else {
                        svg.add(##"<rect x="\##(n(x0))" y="\##(n(cy - 5))" width="10" height="10" fill="\##(color)"/>"##)
                        textX = x0 + 14
                    }
                    svg.add(##"<text x="\##(n(textX))" y="\##(n(cy + 4))" fill="#222">\##(escape(item.name))</text>"##)
                }
            }
            svg.add("</g>")
        }
    }

    /// Accumulates the elements of one `<svg>`.
    struct SVGWriter {
        var parts: [String] = []

        init(width: Double, height: Double, title: String) {
            parts.append(##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="\##(n(width))" height="\##(n(height))" viewBox="0 0 \##(n(width)) \##(n(height))" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12" role="img" aria-label="\##(escape(title.isEmpty ? "chart" : title))">"##)
            if !title.isEmpty { parts.append("<title>\(escape(title))</title>") }
            parts.append(##"<rect x="0" y="0" width="\##(n(width))" height="\##(n(height))" fill="#ffffff"/>"##)
        }

        mutating func add(_ s: String) { parts.append(s) }

        mutating func frame(plot: Rect, title: String, xTitle: String, yTitle: String, left: Double, xTitleOffset: Double = 36) {
            if !title.isEmpty {
                add(##"<text x="\##(n(plot.x))" y="22" font-size="15" font-weight="600" fill="#111">\##(escape(title))</text>"##)
            }
            if !xTitle.isEmpty {
                add(##"<text x="\##(n(plot.x + plot.w / 2))" y="\##(n(plot.y + plot.h + xTitleOffset))" text-anchor="middle" font-size="13" fill="#222">\##(escape(xTitle))</text>"##)
            }
            if !yTitle.isEmpty {
                let x = 14.0, y = plot.y + plot.h / 2
                add(##"<text x="\##(n(x))" y="\##(n(y))" text-anchor="middle" font-size="13" fill="#222" transform="rotate(-90 \##(n(x)) \##(n(y)))">\##(escape(yTitle))</text>"##)
            }
        }

        mutating func axes(plot: Rect) {
            add(##"<rect x="\##(n(plot.x))" y="\##(n(plot.y))" width="\##(n(plot.w))" height="\##(n(plot.h))" fill="none" stroke="#888" stroke-width="1"/>"##)
        }

        mutating func noData(plot: Rect) {
            add(##"<text x="\##(n(plot.x + plot.w / 2))" y="\##(n(plot.y + plot.h / 2))" text-anchor="middle" font-size="13" fill="#888">No data</text>"##)
        }

        func finish() -> String { (parts + ["</svg>"]).joined(separator: "\n") }
    }
}
