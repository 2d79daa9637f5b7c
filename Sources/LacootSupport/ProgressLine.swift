import Foundation

/// A progress line for long work (training, scoring, evaluation) with rate and ETA.
///
/// On a terminal it redraws one line in place; otherwise (a log file, CI) it prints a plain
/// line at most every `plainInterval` seconds and at the end. Silent when `enabled` is false.
public final class ProgressLine: @unchecked Sendable {
    public let label: String
    public let total: Int
    public let unit: String
    private let enabled: Bool
    private let terminal: Bool
    private let plainInterval: Double
    private let start = Date()
    private var done = 0
    private var lastPrint = Date.distantPast
    private var lastWidth = 0

    /// - Parameters:
    ///   - total: units of work expected (e.g. images in the epoch).
    ///   - enabled: false makes every call a no-op (library use, `--quiet`).
    public init(label: String, total: Int, unit: String = "img", enabled: Bool = true,
                terminal: Bool = isatty(STDERR_FILENO) != 0, plainInterval: Double = 15) {
        self.label = label
        self.total = max(total, 0)
        self.unit = unit
        self.enabled = enabled
        self.terminal = terminal
        self.plainInterval = plainInterval
    }

    /// Units completed per second so far.
    public var rate: Double {
        let elapsed = Date().timeIntervalSince(start)
        return elapsed > 0 ? Double(done) / elapsed : 0
    }

    public var elapsed: Double { Date().timeIntervalSince(start) }

    /// Records `count` more units; `status` is appended (e.g. "loss 0.41 acc 86.2%").
    public func advance(by count: Int, status: String = "") {
        done += count
        guard enabled else { return }
        let now = Date()
        if terminal {
            if now.timeIntervalSince(lastPrint) >= 0.2 || done >= total {
                draw(status, final: false)
                lastPrint = now
            }
        } else if done < total, now.timeIntervalSince(lastPrint) >= plainInterval {
            if lastPrint != .distantPast { emit(line(status) + "\n") }
            lastPrint = now
        }
    }

    /// Prints the final line (always, when enabled).
    public func finish(status: String = "") {
        guard enabled else { return }
        if terminal { draw(status, final: true) } else { emit(line(status) + "\n") }
    }

    private func draw(_ status: String, final: Bool) {
        var text = line(status)
        let width = text.count
        if width < lastWidth { text += String(repeating: " ", count: lastWidth - width) }
        lastWidth = width
        emit("\r" + text + (final ? "\n" : ""))
    }

    private func line(_ status: String) -> String {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let r = rate
        var parts = [label]
        if terminal {
            let filled = Int(fraction * 20)
            parts.append("[" + String(repeating: "=", count: filled) + String(repeating: " ", count: 20 - filled) + "]")
        }
        parts.append(String(format: "%3.0f%%", fraction * 100))
        parts.append("\(done)/\(total) \(unit)")
        parts.append(String(format: "%.0f %@/s", r, unit))
        if done < total, r > 0 {
            parts.append("ETA " + ProgressLine.clock(Double(total - done) / r))
        } else {
            parts.append("in " + ProgressLine.clock(elapsed))
        }
        if !status.isEmpty { parts.append(status) }
        return parts.joined(separator: " ")
    }

    private func emit(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// "1:02:03" or "2:03".
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%d:%02d", m, sec)
    }
}
