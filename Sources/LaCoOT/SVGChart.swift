import Foundation

/// A small, dependency-free SVG chart writer: line charts with named series and grouped bar
/// charts. Every chart is one standalone `<svg>` element (with `xmlns`), so it can be saved as
/// an `.svg` file or inlined in HTML. Non-finite values are skipped; empty data gives a framed
/// "No data" chart instead of a crash. Colors come from the Okabe–Ito colorblind-safe palette,
/// and series also differ by marker shape (and dash pattern once the palette wraps).
public enum SVGChart {
    /// Okabe–Ito colors (without the yellow, too pale on white), then a dark gray.
    public static let palette: [String] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#4D4D4D"]

    /// One (x, y) point of a line series.
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    /// A named line series. Non-finite points are skipped when drawing.
    public struct Series: Sendable, Equatable {
        public var name: String
        public var points: [Point]
        /// Index into `palette` (and the marker list); nil = the series' position in the chart.
        public var style: Int?
        /// Draw the line dashed (e.g. for a baseline), whatever the style.
        public var dashed: Bool
        /// Draw a marker at each point (when the chart's `markers` option is on).
        public var markers: Bool

        public init(name: String, points: [Point], style: Int? = nil, dashed: Bool = false, markers: Bool = true) {
            self.name = name
            self.points = points
            self.style = style
            self.dashed = dashed
            self.markers = markers
        }

        /// A series from parallel x and y arrays (extra values of the longer one are ignored).
        public init(name: String, x: [Double], y: [Double], style: Int? = nil, dashed: Bool = false, markers: Bool = true) {
            self.init(name: name, points: zip(x, y).map { Point(x: $0, y: $1) }, style: style, dashed: dashed, markers: markers)
        }
    }

    /// Layout and labels of a line chart.
    public struct LineOptions: Sendable {
        public var title: String
        public var xTitle: String
        public var yTitle: String
        public var width: Int
        /// Total height with a one-row legend; each further legend row makes the chart taller.
        public var height: Int
        /// Draw the x axis from high (left) to low (right).
        public var reversedX: Bool
        public var markers: Bool
        /// Fixed axis ranges (widened to round ticks); nil = from the data.
        public var xDomain: ClosedRange<Double>?
        public var yDomain: ClosedRange<Double>?
        /// Only integer x ticks (e.g. a number of removed blocks or an epoch).
        public var integerX: Bool

        public init(title: String = "", xTitle: String = "", yTitle: String = "", width: Int = 640, height: Int = 360,
                    reversedX: Bool = false, markers: Bool = true, xDomain: ClosedRange<Double>? = nil,
                    yDomain: ClosedRange<Double>? = nil, integerX: Bool = false) {
            self.title = title
            self.xTitle = xTitle
            self.yTitle = yTitle
            self.width = width
            self.height = height
            self.reversedX = reversedX
            self.markers = markers
            self.xDomain = xDomain
            self.yDomain = yDomain
            self.integerX = integerX
        }
    }

    /// One named group member of a bar chart: one value per category (non-finite = no bar).
    public struct BarSeries: Sendable, Equatable {
        public var name: String
        public var values: [Double]
        public var style: Int?
        public init(name: String, values: [Double], style: Int? = nil) {
            self.name = name
            self.values = values
            self.style = style
        }
    }

    /// Layout and labels of a bar chart.
    public struct BarOptions: Sendable {
        public enum Orientation: Sendable { case horizontal, vertical }
        public var title: String
        /// Title of the value axis.
        public var valueTitle: String
        /// Title of the category axis.
        public var categoryTitle: String
        public var orientation: Orientation
        public var width: Int
        /// Minimum height; horizontal charts grow with the number of bars.
        public var height: Int
        /// Print each bar's value at its end.
        public var showValues: Bool

        public init(title: String = "", valueTitle: String = "", categoryTitle: String = "",
                    orientation: Orientation = .horizontal, width: Int = 640, height: Int = 360, showValues: Bool = true) {
            self.title = title
            self.valueTitle = valueTitle
            self.categoryTitle = categoryTitle
            self.orientation = orientation
            self.width = width
            self.height = height
            self.showValues = showValues
        }
    }

    // MARK: - Line chart

    /// A line chart: one `<polyline>` (in a `<g class="series">`) per series that has at least one
    /// finite point, optional markers, a legend below the plot, round-number ticks and axis titles.
    public static func line(_ series: [Series], options: LineOptions = LineOptions()) -> String {
        let finite = series.map { s in s.points.filter { $0.x.isFinite && $0.y.isFinite } }
        let all = finite.flatMap { $0 }
        let xs = all.map(\.x), ys = all.map(\.y)
        let xScale = Axis.fitted(values: xs, domain: options.xDomain, integer: options.integerX)
        let yScale = Axis.fitted(values: ys, domain: options.yDomain, integer: false)

        let width = Double(max(options.width, 200))
        let yLabels = yScale.ticks.map { yScale.label($0) }
        let left = max(52, Text.width(yLabels.map(\.count).max() ?? 1) + (options.yTitle.isEmpty ? 14 : 30))
        let right = 24.0
        let legend = Legend(items: series.enumerated().map { (i, s) in (s.name, s.style ?? i, s.dashed, options.markers && s.markers) },
                            x: left, maxWidth: width - left - right, withLine: true)
        let top = options.title.isEmpty ? 16.0 : 36.0
        let axisBlock = options.xTitle.isEmpty ? 28.0 : 46.0
        let plotHeight = max(Double(options.height) - top - axisBlock - Legend.rowHeight - 8, 80)
        let height = top + plotHeight + axisBlock + legend.height + 8
        let plot = Rect(x: left, y: top, w: width - left - right, h: plotHeight)

        var svg = SVGWriter(width: width, height: height, title: options.title)
        svg.frame(plot: plot, title: options.title, xTitle: options.xTitle, yTitle: options.yTitle, left: left)
        let px: (Double) -> Double = { v in
            let t = xScale.fraction(v)
            return plot.x + (options.reversedX ? 1 - t : t) * plot.w
        }
        let py: (Double) -> Double = { v in plot.y + (1 - yScale.fraction(v)) * plot.h }
        // Grid and ticks.
        for t in yScale.ticks {
            let y = py(t)
            svg.add(##"<line x1="\##(n(plot.x))" y1="\##(n(y))" x2="\##(n(plot.x + plot.w))" y2="\##(n(y))" stroke="#e3e3e3" stroke-width="1"/>"##)
            svg.add(##"<text x="\##(n(plot.x - 6))" y="\##(n(y + 4))" text-anchor="end" fill="#333">\##(escape(yScale.label(t)))</text>"##)
        }
        for t in xScale.ticks {
            let x = px(t)
            svg.add(##"<line x1="\##(n(x))" y1="\##(n(plot.y))" x2="\##(n(x))" y2="\##(n(plot.y + plot.h))" stroke="#efefef" stroke-width="1"/>"##)
            svg.add(##"<text x="\##(n(x))" y="\##(n(plot.y + plot.h + 16))" text-anchor="middle" fill="#333">\##(escape(xScale.label(t)))</text>"##)
        }
        svg.axes(plot: plot)
        if all.isEmpty {
            svg.noData(plot: plot)
        }
        // Series.
        for (i, s) in series.enumerated() {
            let pts = finite[i]
            guard !pts.isEmpty else { continue }
            let style = s.style ?? i
            let color = Self.color(style)
            let dash = (s.dashed || style >= palette.count) ? ##" stroke-dasharray="6 4""## : ""
            let coords = pts.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")
            svg.add(##"<g class="series" data-series="\##(escape(s.name))">"##)
            svg.add(##"<polyline fill="none" stroke="\##(color)" stroke-width="2" stroke-linejoin="round"\##(dash) points="\##(coords)"/>"##)
            if options.markers, s.markers {
                for p in pts { svg.add(marker(style: style, x: px(p.x), y: py(p.y), color: color)) }
            }
            svg.add("</g>")
        }
        legend.draw(into: &svg, y: top + plotHeight + axisBlock + 4)
        return svg.finish()
    }

    // MARK: - Bar chart

    /// A grouped bar chart: for each category one `<rect class="bar">` per series with a finite value.
    /// Horizontal charts list the categories top to bottom and grow taller with many bars.
    public static func bars(categories: [String], series: [BarSeries], options: BarOptions = BarOptions()) -> String {
        let values = series.flatMap { s in s.values.prefix(categories.count).filter(\.isFinite) }
        let lo = min(0, values.min() ?? 0), hi = max(0, values.max() ?? 1)
        let scale = Axis.fitted(values: [lo, hi == lo ? lo + 1 : hi], domain: nil, integer: false)
        let width = Double(max(options.width, 200))
        let groups = max(series.count, 1)
        let legendItems = series.enumerated().map { (i, s) in (name: s.name, style: s.style ?? i, dashed: false, marker: false) }
        let top = options.title.isEmpty ? 16.0 : 36.0
        var svg: SVGWriter
        let valueLabel: (Double) -> String = { v in ReportFormat.distance(v) }

        switch options.orientation {
        case .horizontal:
            let catWidth = Text.width(categories.map(\.count).max() ?? 1)
            let left = min(max(60, catWidth + (options.categoryTitle.isEmpty ? 12 : 28)), width * 0.4)
            let right = options.showValues ? 56.0 : 24.0
            let leg = Legend(items: legendItems, x: left, maxWidth: width - left - right, withLine: false)
            let bar = 14.0, gap = 12.0
            let band = Double(groups) * bar + gap
            let axisBlock = options.valueTitle.isEmpty ? 28.0 : 46.0
            let minPlot = Double(options.height) - top - axisBlock - Legend.rowHeight - 8
            let plotHeight = max(minPlot, Double(max(categories.count, 1)) * band, 80)
            let height = top + plotHeight + axisBlock + leg.height + 8
            let plot = Rect(x: left, y: top, w: width - left - right, h: plotHeight)
            svg = SVGWriter(width: width, height: height, title: options.title)
            svg.frame(plot: plot, title: options.title, xTitle: options.valueTitle, yTitle: options.categoryTitle, left: left)
            let px: (Double) -> Double = { v in plot.x + scale.fraction(v) * plot.w }
            for t in scale.ticks {
                let x = px(t)
                svg.add(##"<line x1="\##(n(x))" y1="\##(n(plot.y))" x2="\##(n(x))" y2="\##(n(plot.y + plot.h))" stroke="#e3e3e3" stroke-width="1"/>"##)
                svg.add(##"<text x="\##(n(x))" y="\##(n(plot.y + plot.h + 16))" text-anchor="middle" fill="#333">\##(escape(scale.label(t)))</text>"##)
            }
            svg.axes(plot: plot)
            if categories.isEmpty || values.isEmpty { svg.noData(plot: plot) }
            let bandHeight = categories.isEmpty ? 0 : plot.h / Double(categories.count)
            let thickness = max(1, min(22, (bandHeight - gap) / Double(groups)))
            for (c, name) in categories.enumerated() {
                let y0 = plot.y + Double(c) * bandHeight
                let groupTop = y0 + (bandHeight - thickness * Double(groups)) / 2
                let label = Text.truncate(name, toWidth: left - (options.categoryTitle.isEmpty ? 10 : 26))
                svg.add(##"<text x="\##(n(plot.x - 6))" y="\##(n(y0 + bandHeight / 2 + 4))" text-anchor="end" fill="#333">\##(escape(label))</text>"##)
                for (g, s) in series.enumerated() where c < s.values.count && s.values[c].isFinite {
                    let v = s.values[c]
                    let x0 = px(min(0, v)), x1 = px(max(0, v))
                    let y = groupTop + Double(g) * thickness
                    svg.add(##"<rect class="bar" x="\##(n(x0))" y="\##(n(y))" width="\##(n(max(x1 - x0, 0.5)))" height="\##(n(max(thickness - 1, 1)))" fill="\##(color(s.style ?? g))"><title>\##(escape("\(s.name) · \(name): \(valueLabel(v))"))</title></rect>"##)
                    if options.showValues, thickness >= 12 {
                        svg.add(##"<text x="\##(n(x1 + 4))" y="\##(n(y + thickness / 2 + 3.5))" font-size="11" fill="#333">\##(escape(valueLabel(v)))</text>"##)
                    }
                }
            }
            leg.draw(into: &svg, y: top + plotHeight + axisBlock + 4)
        case .vertical:
            let yLabels = scale.ticks.map { scale.label($0) }
            let left = max(52, Text.width(yLabels.map(\.count).max() ?? 1) + (options.valueTitle.isEmpty ? 14 : 30))
            let right = 24.0
            let leg = Legend(items: legendItems, x: left, maxWidth: width - left - right, withLine: false)
            let plotWidth = width - left - right
            let bandWidth = categories.isEmpty ? plotWidth : plotWidth / Double(categories.count)
            let longest = Text.width(categories.map(\.count).max() ?? 1)
            let rotate = longest > bandWidth - 4
            let labelBlock = rotate ? min(longest * 0.72 + 10, 120) : 20
            let axisBlock = labelBlock + (options.categoryTitle.isEmpty ? 8 : 26)
            let plotHeight = max(Double(options.height) - top - axisBlock - Legend.rowHeight - 8, 80)
            let height = top + plotHeight + axisBlock + leg.height + 8
            let plot = Rect(x: left, y: top, w: plotWidth, h: plotHeight)
            svg = SVGWriter(width: width, height: height, title: options.title)
            svg.frame(plot: plot, title: options.title, xTitle: options.categoryTitle, yTitle: options.valueTitle,
                      left: left, xTitleOffset: axisBlock - 8)
            let py: (Double) -> Double = { v in plot.y + (1 - scale.fraction(v)) * plot.h }
            for t in scale.ticks {
                let y = py(t)
                svg.add(##"<line x1="\##(n(plot.x))" y1="\##(n(y))" x2="\##(n(plot.x + plot.w))" y2="\##(n(y))" stroke="#e3e3e3" stroke-width="1"/>"##)
                svg.add(##"<text x="\##(n(plot.x - 6))" y="\##(n(y + 4))" text-anchor="end" fill="#333">\##(escape(scale.label(t)))</text>"##)
            }
            svg.axes(plot: plot)
            if categories.isEmpty || values.isEmpty { svg.noData(plot: plot) }
            let thickness = min(28, (bandWidth * 0.8) / Double(groups))
            for (c, name) in categories.enumerated() {
                let x0 = plot.x + Double(c) * bandWidth
                let groupLeft = x0 + (bandWidth - thickness * Double(groups)) / 2
                let labelY = plot.y + plot.h + 14
                if rotate {
                    let label = Text.truncate(name, toWidth: 160)
                    svg.add(##"<text x="\##(n(x0 + bandWidth / 2))" y="\##(n(labelY))" text-anchor="end" fill="#333" transform="rotate(-40 \##(n(x0 + bandWidth / 2)) \##(n(labelY)))">\##(escape(label))</text>"##)
                } else {
                    svg.add(##"<text x="\##(n(x0 + bandWidth / 2))" y="\##(n(labelY))" text-anchor="middle" fill="#333">\##(escape(name))</text>"##)
                }
                for (g, s) in series.enumerated() where c < s.values.count && s.values[c].isFinite {
                    let v = s.values[c]
                    let y0 = py(max(0, v)), y1 = py(min(0, v))
                    let x = groupLeft + Double(g) * thickness
                    svg.add(##"<rect class="bar" x="\##(n(x))" y="\##(n(y0))" width="\##(n(max(thickness - 1, 1)))" height="\##(n(max(y1 - y0, 0.5)))" fill="\##(color(s.style ?? g))"><title>\##(escape("\(s.name) · \(name): \(valueLabel(v))"))</title></rect>"##)
                    if options.showValues, thickness >= 14 {
                        svg.add(##"<text x="\##(n(x + thickness / 2))" y="\##(n(y0 - 3))" text-anchor="middle" font-size="9" fill="#333">\##(escape(valueLabel(v)))</text>"##)
                    }
                }
            }
            leg.draw(into: &svg, y: top + plotHeight + axisBlock + 4)
        }
        return svg.finish()
    }

    // MARK: - Helpers

    /// The color of a style index (wraps around the palette).
    public static func color(_ style: Int) -> String { palette[((style % palette.count) + palette.count) % palette.count] }

    /// Escapes `&`, `<`, `>`, `"` and `'` for XML text and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// Round tick values covering `lo...hi` with about `target` intervals (1, 2 or 5 × 10^k steps).
    public static func niceTicks(from lo: Double, to hi: Double, target: Int = 5) -> [Double] {
        Axis.make(values: [lo, hi], domain: nil, integer: false, target: target).ticks
    }

    static func marker(style: Int, x: Double, y: Double, color: String) -> String {
        let r = 3.6
        switch ((style % 5) + 5) % 5 {
        case 0: return ##"<circle cx="\##(n(x))" cy="\##(n(y))" r="\##(n(r))" fill="\##(color)" stroke="#fff" stroke-width="0.8"/>"##
        case 1: return ##"<rect x="\##(n(x - r))" y="\##(n(y - r))" width="\##(n(2 * r))" height="\##(n(2 * r))" fill="\##(color)" stroke="#fff" stroke-width="0.8"/>"##
        case 2: return ##"<polygon points="\##(n(x)),\##(n(y - r * 1.2)) \##(n(x + r * 1.1)),\##(n(y + r * 0.9)) \##(n(x - r * 1.1)),\##(n(y + r * 0.9))" fill="\##(color)" stroke="#fff" stroke-width="0.8"/>"##
        case 3: return ##"<polygon points="\##(n(x)),\##(n(y - r * 1.3)) \##(n(x + r * 1.3)),\##(n(y)) \##(n(x)),\##(n(y + r * 1.3)) \##(n(x - r * 1.3)),\##(n(y))" fill="\##(color)" stroke="#fff" stroke-width="0.8"/>"##
        default: return ##"<polygon points="\##(n(x)),\##(n(y + r * 1.2)) \##(n(x + r * 1.1)),\##(n(y - r * 0.9)) \##(n(x - r * 1.1)),\##(n(y - r * 0.9))" fill="\##(color)" stroke="#fff" stroke-width="0.8"/>"##
        }
    }

    /// A coordinate with at most 2 decimals, no trailing zeros, never "-0".
    static func n(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let r = (v * 100).rounded() / 100
        if r == r.rounded() { return String(Int(r)) }
        var s = String(format: "%.2f", r)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }

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
