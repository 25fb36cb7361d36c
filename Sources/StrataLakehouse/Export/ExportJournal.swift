@_spi(Machinery) import Strata
import StrataJSON

/// The export journal (docs/LAKEHOUSE.md, "The export journal", state format version 1): the
/// files published beyond the saved checkpoint, kept with the target under
/// `_state/{source}.json`. A restart skips the events these files hold.
struct ExportJournal: Codable, Equatable {
    /// One published file: its hour and the positions of its first and last event.
    struct Entry: Codable, Equatable {
        /// Microseconds since the epoch / 3,600,000,000.
        var hour: Int64
        var first: UInt64
        var last: UInt64
        /// The file's key, for people; the exporter does not read it.
        var key: String

        /// Whether this file holds the event of `hour` at `position`.
        func covers(hour: Int64, position: UInt64) -> Bool {
            self.hour == hour && first <= position && position <= last
        }
    }

    static let version = 1

    var version = ExportJournal.version
    var source: String
    /// The checkpoint saved when the journal was written.
    var checkpoint: UInt64
    var files: [Entry]

    /// The key of a source's journal under the target: `_state/{source}.json`, the source made
    /// safe for file names as in export file names.
    static func key(source: String) -> String {
        "_state/" + SafeFileName.encode(source) + ".json"
    }

    /// The entries a run starting from `checkpoint` may rely on: none when there is no journal or
    /// it was written against a higher checkpoint (the checkpoint was reset back), else those
    /// beyond the checkpoint.
    /// - Throws: ``StrataError/corruption(path:offset:reason:)`` for a journal that does not
    ///   parse or names another source, ``StrataError/unsupportedFormat(path:found:supported:)``
    ///   for another version, or the target's read error.
    static func load(from target: any ExportTarget, source: String, checkpoint: UInt64) async throws -> [Entry] {
        let key = key(source: source)
        guard let bytes = try await target.readState(key: key) else { return [] }
        let path = target.location + "/" + key
        let journal: ExportJournal
        do { journal = try StrataJSONDecoder().decode(ExportJournal.self, from: bytes) } catch {
            if let version = try? StrataJSONDecoder().decode(Version.self, from: bytes), version.version != Self.version {
                throw StrataError.unsupportedFormat(path: path, found: "version \(version.version)", supported: "version \(Self.version)")
            }
            throw StrataError.corruption(path: path, offset: 0, reason: "not an export journal: \(error)")
        }
        guard journal.version == Self.version else {
            throw StrataError.unsupportedFormat(path: path, found: "version \(journal.version)", supported: "version \(Self.version)")
        }
        guard journal.source == source else {
            throw StrataError.corruption(path: path, offset: 0, reason: "the journal is source \"\(journal.source)\"'s, not \"\(source)\"'s")
        }
        guard journal.checkpoint <= checkpoint else { return [] }
        return journal.files.filter { $0.last > checkpoint }
    }

    /// The bytes written: one JSON object, keys in the documented order.
    func encoded() throws -> [UInt8] {
        var bytes: [UInt8] = []
        try StrataJSONEncoder().encode(self, into: &bytes)
        return bytes
    }

    private struct Version: Decodable {
        var version: Int
    }
}
