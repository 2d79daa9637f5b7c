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
}
