import Foundation
import Strata

/// A regular expression over document keys, guarded against hostile patterns: its length is
/// capped, and matching stops with `timedOut` once it has used its time budget (checked between
/// keys and, through `NSRegularExpression`'s progress reports, during a long match).
///
/// `NSRegularExpression` is immutable once created and safe to share between threads, hence
/// `@unchecked Sendable`.
public struct KeyPattern: @unchecked Sendable {
    /// The pattern as given.
    public let pattern: String
    private let expression: NSRegularExpression

    /// Compiles a pattern.
    /// - Throws: `StrataError.invalidArgument(_:)` for a pattern longer than `maxBytes`
    ///   UTF-8 bytes or not a valid regular expression.
    public init(regex pattern: String, maxBytes: Int) throws {
        guard pattern.utf8.count <= maxBytes else {
            throw StrataError.invalidArgument("key pattern is \(pattern.utf8.count) bytes; the limit is \(maxBytes)")
        }
        do { expression = try NSRegularExpression(pattern: pattern) } catch {
            throw StrataError.invalidArgument("invalid key pattern \"\(pattern)\": \(error)")
        }
        self.pattern = pattern
    }

    /// The regular expression of a glob: `*` → any run, `?` → one character, anchored at both ends.
    public static func regex(forGlob glob: String) -> String {
        var out = "^"
        for character in glob {
            switch character {
            case "*": out += ".*"
            case "?": out += "."
            default: out += NSRegularExpression.escapedPattern(for: String(character))
            }
        }
        return out + "$"
    }

    /// The keys the expression finds a match in, sorted by UTF-8 bytes.
    /// - Throws: `StrataError.timedOut(_:)` when matching exceeds `budget`.
    public func filter(_ keys: [String], budget: Duration) throws -> [String] {
        let clock = ContinuousClock()
        let started = clock.now
        // A request's budget (RegexBudget.current) counts this matching too.
        let allowance = RegexBudget.allowance(upTo: budget)
        let deadline = started + allowance
        defer { RegexBudget.chargeCurrent(clock.now - started) }
        var matched: [String] = []
        for (i, key) in keys.enumerated() {
            if i & 63 == 0, clock.now > deadline { throw timedOut(allowance) }
            var found = false
            var overBudget = false
            expression.enumerateMatches(in: key, options: [.reportProgress], range: NSRange(key.startIndex..., in: key)) { match, _, stop in
                if match != nil { found = true; stop.pointee = true }
                else if clock.now > deadline { overBudget = true; stop.pointee = true }
            }
            if overBudget { throw timedOut(allowance) }
            if found { matched.append(key) }
        }
        return matched.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    private func timedOut(_ budget: Duration) -> StrataError {
        .timedOut("matching keys against pattern \"\(pattern.prefix(60))\" (budget \(budget)); use a simpler or anchored pattern")
    }
}
