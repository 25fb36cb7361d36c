import Foundation

/// A stored document: its key, its data (which always holds `"id": key`) and its meta.
public struct Document: Sendable, Hashable {
    /// The document's key (also `data["id"]` and `meta.id`).
    public let key: String
    /// The document, a JSON object.
    public let data: DocumentValue
    /// Dates and change count.
    public let meta: DocumentMeta

    /// The key, named as eventbase's `insert` names it.
    public var id: String { key }

    /// Creates a document.
    public init(key: String, data: DocumentValue, meta: DocumentMeta) {
        self.key = key
        self.data = data
        self.meta = meta
    }

    /// `{"data": …, "meta": …}`, eventbase's `get` shape.
    public var json: DocumentValue { ["data": data, "meta": meta.json] }
}

/// What the store tracks about a document, derived from its events only, so a live view and a
/// replay give the same meta.
public struct DocumentMeta: Sendable, Hashable {
    /// The document's key.
    public let id: String
    /// When the document was created: the recorded time of its first write since it last did
    /// not exist, in milliseconds since 1970 (UTC).
    public let createdMilliseconds: Int64
    /// When it was last written: the recorded time of the last put or patch, but at least one
    /// millisecond after the previous value, so every update shows a later date.
    public let modifiedMilliseconds: Int64
    /// Puts and patches since the document was (re)created: 1 after the first write.
    public let changes: Int

    /// Creates meta.
    public init(id: String, createdMilliseconds: Int64, modifiedMilliseconds: Int64, changes: Int) {
        self.id = id
        self.createdMilliseconds = createdMilliseconds
        self.modifiedMilliseconds = modifiedMilliseconds
        self.changes = changes
    }

    /// ``createdMilliseconds`` in ISO 8601 UTC with milliseconds: `2026-11-23T21:57:32.123Z`.
    public var dateCreated: String { Timestamp.iso8601(milliseconds: createdMilliseconds) }
    /// ``modifiedMilliseconds`` in ISO 8601 UTC with milliseconds.
    public var dateModified: String { Timestamp.iso8601(milliseconds: modifiedMilliseconds) }

    /// `{"id", "dateCreated", "dateModified", "changes"}`.
    public var json: DocumentValue {
        ["id": .string(id), "dateCreated": .string(dateCreated), "dateModified": .string(dateModified), "changes": .int(Int64(changes))]
    }
}

/// ISO 8601 timestamps with milliseconds, written by hand (a formatter per call costs more than
/// the rest of a document read).
enum Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` for microseconds since 1970 (UTC), truncated to milliseconds.
    static func iso8601(microseconds: Int64) -> String {
        iso8601(milliseconds: microseconds >= 0 ? microseconds / 1000 : (microseconds - 999) / 1000)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since 1970 (UTC).
    static func iso8601(milliseconds millis: Int64) -> String {
        var days = millis >= 0 ? millis / 86_400_000 : (millis - 86_399_999) / 86_400_000
        let msOfDay = millis - days * 86_400_000
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        var year = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        if month <= 2 { year += 1 }
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1 ..< count { divisor *= 10 }
            var v = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8((v / divisor) % 10))
                v %= divisor
                divisor /= 10
            }
        }
        digits(year, 4); out.append(UInt8(ascii: "-"))
        digits(month, 2); out.append(UInt8(ascii: "-"))
        digits(day, 2); out.append(UInt8(ascii: "T"))
        digits(msOfDay / 3_600_000, 2); out.append(UInt8(ascii: ":"))
        digits(msOfDay / 60_000 % 60, 2); out.append(UInt8(ascii: ":"))
        digits(msOfDay / 1000 % 60, 2); out.append(UInt8(ascii: "."))
        digits(msOfDay % 1000, 3); out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }
}
