import Foundation
import StrataBench
import StrataJSONShapes
import StrataJSON

/// How the benchmarks print a report.
enum BenchOutput {
    /// The command line a report names: how the bench was started (`strata bench …` when
    /// `strata` handed it over, which says so in `STRATA_BENCH_INVOKED_AS`), then its options.
    static func commandLine(subcommand: String) -> String {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == subcommand { arguments.removeFirst() }
        let invokedAs = ProcessInfo.processInfo.environment["STRATA_BENCH_INVOKED_AS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "strata-bench \(subcommand)"
        return ([invokedAs] + arguments).joined(separator: " ")
    }

    /// One JSON object: machine, command, results (and skipped, when something was).
    static func json(_ report: BenchReport, command: String) -> [UInt8] {
        var out = JSONWriter()
        out.beginObject()
        out.key("machine")
        out.beginObject()
        for (key, value) in report.machine {
            out.key(key)
            switch value {
            case .text(let text): out.string(text)
            case .integer(let number): out.number(number)
            }
        }
        out.endObject()
        out.field("command", command)
        out.key("results")
        out.beginArray()
        for result in report.results {
            out.beginObject()
            out.field("name", result.name)
            out.key("value")
            out.number(rounded(result))
            out.field("unit", result.unit)
            out.endObject()
        }
        out.endArray()
        if !report.skipped.isEmpty {
            out.key("skipped")
            out.beginArray()
            for (name, reason) in report.skipped {
                out.beginObject()
                out.field("name", name)
                out.field("reason", reason)
                out.endObject()
            }
            out.endArray()
        }
        out.endObject()
        return out.bytes
    }

    /// A table: a few machine facts, then name, value, unit per line.
    static func table(_ report: BenchReport, command: String) -> String {
        var text = "command: \(command)\n"
        for (key, value) in report.machine {
            switch value {
            case .text(let s): text += "\(key): \(s)\n"
            case .integer(let n): text += "\(key): \(n)\n"
            }
        }
        text += "\n"
        let rows = [("name", "value", "unit")] + report.results.map { ($0.name, formatted($0), $0.unit) }
        let nameWidth = rows.map(\.0.count).max() ?? 0
        let valueWidth = rows.map(\.1.count).max() ?? 0
        for (name, value, unit) in rows {
            text += name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                + String(repeating: " ", count: valueWidth - value.count) + value + "  " + unit + "\n"
        }
        return text
    }

    /// Rates as whole numbers; times, sizes and ratios to three decimals.
    static func rounded(_ result: BenchResult) -> Double {
        result.unit.hasSuffix("/s") ? result.value.rounded() : (result.value * 1000).rounded() / 1000
    }

    static func formatted(_ result: BenchResult) -> String {
        if result.unit.hasSuffix("/s") {
            let digits = String(Int64(result.value.rounded()))
            var grouped = ""
            for (i, c) in digits.reversed().enumerated() {
                if i > 0 && i % 3 == 0 { grouped.append(",") }
                grouped.append(c)
            }
            return String(grouped.reversed())
        }
        return String(format: result.unit == "x" ? "%.2f" : "%.1f", result.value)
    }
}
