/// Key conversions between `snake_case` and `camelCase`, with the rules of Foundation's
/// `.convertFromSnakeCase` and `.convertToSnakeCase`, so that both coders agree with it.
enum SnakeCase {
    /// `user_id` → `userId`; `_a_b_` → `_aB_`; a key without `_` between words is left alone.
    static func toCamelCase(_ key: String) -> String {
        guard let first = key.firstIndex(where: { $0 != "_" }) else { return key }
        var last = key.index(before: key.endIndex)
        while last > first && key[last] == "_" { key.formIndex(before: &last) }
        let words = key[first...last].split(separator: "_")
        guard words.count > 1 else { return key }
        var result = String(key[..<first])
        result += words[0].lowercased()
        for word in words.dropFirst() {
            result += word.prefix(1).uppercased() + word.dropFirst().lowercased()
        }
        result += key[key.index(after: last)...]
        return result
    }

    /// `userID` → `user_id`; `myURLValue` → `my_url_value`. Words end before an uppercase letter,
    /// and a run of capitals is a word of its own up to the capital that starts the next word.
    static func toSnakeCase(_ key: String) -> String {
        let chars = Array(key)
        guard chars.count > 1 else { return key.lowercased() }
        var words: [Range<Int>] = []
        var wordStart = 0
        var search = 1
        while let upper = chars[search...].firstIndex(where: \.isUppercase) {
            words.append(wordStart..<upper)
            guard let lower = chars[upper...].firstIndex(where: \.isLowercase) else {
                wordStart = upper
                search = chars.count
                break
            }
            if lower == upper + 1 {
                wordStart = upper
            } else {
                words.append(upper..<(lower - 1))
                wordStart = lower - 1
            }
            search = lower + 1
            if search >= chars.count { break }
        }
        words.append(wordStart..<chars.count)
        return words.map { String(chars[$0]).lowercased() }.joined(separator: "_")
    }
}
