import Foundation

/// `value` with `digits` decimals; "n/a" when it is not finite.
func fmt(_ value: Double, _ digits: Int = 2) -> String {
    guard value.isFinite else { return "n/a" }
    return String(format: "%.\(digits)f", value)
}

/// A table printed as aligned text on stdout and as Markdown for BENCHMARKS.md.
struct Table {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) { self.header = header }

    mutating func add(_ row: [String]) { rows.append(row) }

    var text: String {
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: max(0, widths[c] - cell.count))
                return c == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    var markdown: String {
        let sep = header.indices.map { $0 == 0 ? "---" : "---:" }
        return ([header, sep] + rows).map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n")
    }
}

/// The last stdout line of every benchmark: one JSON object, keys in the given order.
enum JSONLine {
    enum Value {
        case number(Double, digits: Int)
        /// A number in exponent notation with `digits` significant digits (e.g. 3.4e-16).
        case scientific(Double, digits: Int)
        case string(String)
        case null
    }

    static func encode(_ pairs: [(String, Value)]) -> String {
        "{" + pairs.map { key, value in "\(quote(key)):\(render(value))" }.joined(separator: ",") + "}"
    }

    private static func render(_ v: Value) -> String {
        switch v {
        case let .number(x, digits):
            guard x.isFinite else { return "null" }
            var s = String(format: "%.\(digits)f", x)
            if s.contains(".") {
                while s.hasSuffix("0") { s.removeLast() }
                if s.hasSuffix(".") { s.removeLast() }
            }
            return s == "-0" ? "0" : s
        case let .scientific(x, digits):
            guard x.isFinite else { return "null" }
            return String(format: "%.\(max(digits - 1, 0))e", x)
        case let .string(s): return quote(s)
        case .null: return "null"
        }
    }

    private static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

/// Collects what a benchmark prints, writes its Markdown section, and prints the JSON line last.
struct Report {
    let name: String
    let options: BenchOptions
    var tables: [(title: String, table: Table)] = []
    var notes: [String] = []
    var meaning: [String] = []
    let loadBefore = loadAverage()

    init(name: String, options: BenchOptions) {
        self.name = name
        self.options = options
    }

    mutating func add(_ title: String, _ table: Table) { tables.append((title, table)) }

    /// Prints the tables and notes, writes the Markdown section if asked, then the JSON line.
    func finish(json pairs: [(String, JSONLine.Value)]) throws {
        let loadAfter = loadAverage()
        let json = JSONLine.encode(pairs)
        for (title, table) in tables {
            print("\n\(title)\n\(table.text)")
        }
        print("")
        for note in notes { print("note: \(note)") }
        print("load average (1/5/15 min): \(loadBefore) before, \(loadAfter) after")
        if let url = options.markdown {
            var md = "## \(name)\n\n`scripts/bench \(name)` — load average \(loadBefore) before, \(loadAfter) after.\n\n"
            for (title, table) in tables { md += "**\(title)**\n\n\(table.markdown)\n\n" }
            for note in notes { md += "- \(note)\n" }
            if !notes.isEmpty { md += "\n" }
            if !meaning.isEmpty { md += meaning.joined(separator: "\n") + "\n\n" }
            md += "```json\n\(json)\n```\n"
            try md.write(to: url, atomically: true, encoding: .utf8)
        }
        print(json)
    }
}
