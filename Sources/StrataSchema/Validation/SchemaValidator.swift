import Foundation
import Strata
import StrataJSON

/// Checks JSON values against schemas, collecting every violation with its path.
struct SchemaValidator {
    let definitions: [String: SchemaDefinition]
    let patterns: [String: NSRegularExpression]
    private(set) var violations: [SchemaViolation] = []
    private var path: [PathSegment] = []

    init(definitions: [String: SchemaDefinition], patterns: [String: NSRegularExpression]) {
        self.definitions = definitions
        self.patterns = patterns
    }

    /// Parses `bytes` and checks them against an event's data or meta rules, at `$.ROOT`.
    mutating func check(bytes: Data, against rules: ObjectRules, root: String) {
        path = [.key(root)]
        do {
            let value = try JSONValue(parsing: bytes)
            checkObject(value, rules)
        } catch let error as StrataJSONSyntaxError {
            report("is not valid JSON: line \(error.line), column \(error.column): \(error.reason)")
        } catch {
            report("is not valid JSON: \(error)")
        }
    }

    /// Checks a parsed value against an event's data or meta rules, at `$.ROOT`.
    mutating func check(_ value: JSONValue, against rules: ObjectRules, root: String) {
        path = [.key(root)]
        checkObject(value, rules)
    }

    private mutating func report(_ message: String) {
        violations.append(SchemaViolation(path: PathSegment.text(path), message: message))
    }

    private mutating func mismatch(_ expected: String, _ value: JSONValue) {
        report("expected \(expected), got \(value.kindName)")
    }

    mutating func check(_ value: JSONValue, _ schema: Schema) {
        switch schema.kind {
        case .any:
            return
        case .string(let rules):
            guard case .string(let s) = value else { return mismatch("string", value) }
            checkString(s, rules)
        case .integer(let rules):
            guard let d = value.numberValue, JSONValue.isIntegral(d) else { return mismatch("integer", value) }
            checkNumber(d, rules)
        case .number(let rules):
            guard let d = value.numberValue else { return mismatch("number", value) }
            checkNumber(d, rules)
        case .boolean:
            guard case .bool = value else { return mismatch("boolean", value) }
        case .null:
            guard case .null = value else { return mismatch("null", value) }
        case .object(let rules):
            checkObject(value, rules)
        case .array(let rules):
            checkArray(value, rules)
        case .anyOf(let alternatives):
            checkAnyOf(value, alternatives)
        case .ref(let name):
            // The loader checked every reference.
            if let definition = definitions[name] { check(value, definition.schema) }
        }
    }

    private mutating func checkString(_ s: String, _ rules: StringRules) {
        if let allowed = rules.allowed, !allowed.contains(s) {
            report("\(quote(s)) is not one of \(allowed.map(quote).joined(separator: ", "))")
        }
        if rules.minLength != nil || rules.maxLength != nil {
            let length = s.unicodeScalars.count
            if let min = rules.minLength, length < min { report("is \(length) characters long, shorter than minLength \(min)") }
            if let max = rules.maxLength, length > max { report("is \(length) characters long, longer than maxLength \(max)") }
        }
        if let pattern = rules.pattern, let regex = patterns[pattern] {
            if regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) == nil {
                report("\(quote(s)) does not match the pattern \(pattern)")
            }
        }
        if let format = rules.format, !StringFormats.matches(s, format) {
            report("\(quote(s)) is not a valid \(format.rawValue)")
        }
    }

    private mutating func checkNumber(_ d: Double, _ rules: NumberRules) {
        if let allowed = rules.allowed, !allowed.contains(d) {
            report("\(number(d)) is not one of \(allowed.map(number).joined(separator: ", "))")
        }
        if let min = rules.minimum, d < min { report("\(number(d)) is less than the minimum \(number(min))") }
        if let max = rules.maximum, d > max { report("\(number(d)) is greater than the maximum \(number(max))") }
        if let min = rules.exclusiveMinimum, d <= min { report("\(number(d)) is not greater than the exclusiveMinimum \(number(min))") }
        if let max = rules.exclusiveMaximum, d >= max { report("\(number(d)) is not less than the exclusiveMaximum \(number(max))") }
    }

    private mutating func checkObject(_ value: JSONValue, _ rules: ObjectRules) {
        guard case .object(let members) = value else { return mismatch("object", value) }
        let declared = rules.properties.count
        // Which declared properties are present: a bit mask for the usual small objects.
        var presentBits: UInt64 = 0
        var presentList: [Bool] = declared > 64 ? Array(repeating: false, count: declared) : []
        for (i, member) in members.enumerated() {
            path.append(.key(member.key))
            defer { path.removeLast() }
            if let p = rules.position(of: member.key) {
                let seen = declared > 64 ? presentList[p] : presentBits & (1 << UInt64(p)) != 0
                if seen {
                    report("the key appears more than once in the object")
                    continue
                }
                if declared > 64 { presentList[p] = true } else { presentBits |= 1 << UInt64(p) }
                check(member.value, rules.properties[p].schema)
                continue
            }
            // Undeclared keys are rare: a linear look back finds repeats among them.
            if i > 0, members[0..<i].contains(where: { $0.key == member.key }) {
                report("the key appears more than once in the object")
                continue
            }
            switch rules.additional {
            case .forbidden: report("property is not allowed (additionalProperties is false)")
            case .allowed: break
            case .schema(let schema): check(member.value, schema)
            }
        }
        for (p, property) in rules.properties.enumerated() where !property.optional {
            let present = declared > 64 ? presentList[p] : presentBits & (1 << UInt64(p)) != 0
            if !present {
                path.append(.key(property.name))
                report("required property is missing")
                path.removeLast()
            }
        }
    }

    private mutating func checkArray(_ value: JSONValue, _ rules: ArrayRules) {
        guard case .array(let elements) = value else { return mismatch("array", value) }
        if let min = rules.minItems, elements.count < min { report("has \(elements.count) items, fewer than minItems \(min)") }
        if let max = rules.maxItems, elements.count > max { report("has \(elements.count) items, more than maxItems \(max)") }
        guard let items = rules.items else { return }
        for (i, element) in elements.enumerated() {
            path.append(.index(i))
            check(element, items)
            path.removeLast()
        }
    }

    private mutating func checkAnyOf(_ value: JSONValue, _ alternatives: [Schema]) {
        var reasons: [String] = []
        for (i, alternative) in alternatives.enumerated() {
            var trial = SchemaValidator(definitions: definitions, patterns: patterns)
            trial.path = path
            trial.check(value, alternative)
            if trial.violations.isEmpty { return }
            reasons.append("(\(i + 1)) " + trial.violations.map(\.description).joined(separator: ", "))
        }
        report("matches none of the anyOf alternatives: " + reasons.joined(separator: "; "))
    }

    private func quote(_ s: String) -> String {
        var out = ""
        out += JSONWriter.quoted(s.count > 60 ? String(s.prefix(60)) + "…" : s)
        return out
    }

    private func number(_ d: Double) -> String { JSONValue.number(d).jsonText }
}
