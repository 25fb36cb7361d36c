@_spi(Machinery) import Strata
import StrataJSON

/// The key of an export file: `events/{yyyy}/{mm}/{dd}/{hh}/{source}_{firstPosition}{.jsonl|.jsonl.gz}`,
/// with the UTC hour of the file's events and the source made safe for file names.
public struct ExportFileName: Sendable, Hashable {
    /// The source name as given (not encoded).
    public var source: String
    /// The `$all` position of the file's first event.
    public var firstPosition: UInt64
    /// The hour of the file's events: microseconds since the epoch / 3,600,000,000.
    public var hour: Int64
    /// Plain or gzip.
    public var compressed: Bool

    /// Creates a name.
    public init(source: String, firstPosition: UInt64, hour: Int64, compressed: Bool) {
        self.source = source
        self.firstPosition = firstPosition
        self.hour = hour
        self.compressed = compressed
    }

    /// The partition folder: `events/yyyy/mm/dd/hh`.
    public var partition: String {
        let c = UTCTime.civil(hour * UTCTime.microsecondsPerHour)
        return "events/" + Self.pad(c.year, 4) + "/" + Self.pad(c.month, 2) + "/" + Self.pad(c.day, 2) + "/" + Self.pad(c.hour, 2)
    }

    /// The file name without folder: `{source}_{firstPosition}.jsonl[.gz]`.
    public var fileName: String {
        SafeFileName.encode(source) + "_" + String(firstPosition) + (compressed ? ".jsonl.gz" : ".jsonl")
    }

    /// The key under the lakehouse root.
    public var key: String { partition + "/" + fileName }

    /// The same name with the other compression.
    public var twin: ExportFileName {
        ExportFileName(source: source, firstPosition: firstPosition, hour: hour, compressed: !compressed)
    }

    /// Parses a file name (`{source}_{firstPosition}.jsonl[.gz]`, no folder): the source, the
    /// first position and whether it is compressed; `nil` for other names.
    public static func parse(fileName: String) -> (source: String, firstPosition: UInt64, compressed: Bool)? {
        var stem = Substring(fileName)
        let compressed: Bool
        if stem.hasSuffix(".jsonl.gz") {
            compressed = true
            stem = stem.dropLast(9)
        } else if stem.hasSuffix(".jsonl") {
            compressed = false
            stem = stem.dropLast(6)
        } else {
            return nil
        }
        guard let underscore = stem.lastIndex(of: "_"), let first = UInt64(stem[stem.index(after: underscore)...]),
              let source = SafeFileName.decode(String(stem[..<underscore])) else { return nil }
        return (source, first, compressed)
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
