import Foundation
import StrataCommandLine

/// A one-line progress bar redrawn in place on stderr, at most ten times a second.
final class ProgressBar: @unchecked Sendable {
    // @unchecked: `lastDraw` is guarded by `lock`; the bar is updated from a callback thread.
    private let label: String
    private let lock = NSLock()
    private var lastDraw = 0.0
    private var drawn = false
    private let format: (Int64) -> String

    /// - Parameter format: How counts are shown (bytes by default).
    init(label: String, format: @escaping (Int64) -> String = ByteCount.format) {
        self.label = label
        self.format = format
    }

    /// Redraws the bar for `done` of `total` (bytes, or what `format` shows).
    func update(done: Int64, total: Int64) {
        lock.lock()
        defer { lock.unlock() }
        let now = ProcessInfo.processInfo.systemUptime
        guard now - lastDraw >= 0.1 || done >= total else { return }
        lastDraw = now
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let percent = String(Int(fraction * 100))
        let line = "\r\(label) [\(bar)] \(percent)% \(format(done))/\(format(total))"
        StandardOutput.stderr.write(line + "\u{1B}[K")
        StandardOutput.stderr.flush()
        drawn = true
    }

    /// Erases the bar.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn {
            StandardOutput.stderr.write("\r\u{1B}[K")
            StandardOutput.stderr.flush()
        }
    }
}

/// Human-readable byte counts.
enum ByteCount {
    static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }
}
