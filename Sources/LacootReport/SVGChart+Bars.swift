import Foundation

// The grouped bar chart, in its two orientations.
extension SVGChart {
    /// A grouped bar chart: for each category one `<rect class="bar">` per series with a finite value.
    /// Horizontal charts list the categories top to bottom and grow taller with many bars.
    public static func bars(categories: [String], series: [BarSeries], options: BarOptions = BarOptions()) -> String {
        let frame = BarFrame(categories: categories, series: series, options: options)
        switch options.orientation {
        case .horizontal: return horizontalBars(frame)
        case .vertical: return verticalBars(frame)
        }
    }

    /// What both orientations share: the data, the value axis and the legend entries.
    struct BarFrame {
        let categories: [String]
        let series: [BarSeries]
        let options: BarOptions
        /// The finite values shown.
        let values: [Double]
        let scale: Axis
        let width: Double
        let groups: Int
        let legendItems: [(name: String, style: Int, dashed: Bool, marker: Bool)]
        let top: Double
        let valueLabel: (Double) -> String = { v in ReportFormat.distance(v) }

        init(categories: [String], series: [BarSeries], options: BarOptions) {
            self.categories = categories
            self.series = series
            self.options = options
            values = series.flatMap { s in s.values.prefix(categories.count).filter(\.isFinite) }
            let lo = min(0, values.min() ?? 0), hi = max(0, values.max() ?? 1)
            scale = Axis.fitted(values: [lo, hi == lo ? lo + 1 : hi], domain: nil, integer: false)
            width = Double(max(options.width, 200))
            groups = max(series.count, 1)
            legendItems = series.enumerated().map { (i, s) in (name: s.name, style: s.style ?? i, dashed: false, marker: false) }
            top = options.title.isEmpty ? 16.0 : 36.0
        }
    }

    /// Categories top to bottom, bars growing to the right; the chart grows taller with many bars.
    static func horizontalBars(_ frame: BarFrame) -> String {
        let (categories, series, options) = (frame.categories, frame.series, frame.options)
        let (values, scale, width, groups) = (frame.values, frame.scale, frame.width, frame.groups)
        let (legendItems, top, valueLabel) = (frame.legendItems, frame.top, frame.valueLabel)
        var svg: SVGWriter
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
        return svg.finish()
    }

    /// Categories left to right (labels rotated when they do not fit), bars growing upwards.
    static func verticalBars(_ frame: BarFrame) -> String {
        let (categories, series, options) = (frame.categories, frame.series, frame.options)
        let (values, scale, width, groups) = (frame.values, frame.scale, frame.width, frame.groups)
        let (legendItems, top, valueLabel) = (frame.legendItems, frame.top, frame.valueLabel)
        var svg: SVGWriter
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
        return svg.finish()
    }
}
