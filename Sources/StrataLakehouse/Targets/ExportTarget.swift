/// Where finished export files go: a local directory or an S3-compatible bucket.
///
/// The exporter writes each file in ``stagingDirectory`` (never under `events/`, so that no
/// reader's glob sees it), flushes it to disk, and then hands it to ``publish(stagedFile:key:)``,
/// which must make the whole file appear at once under `key` (a rename; an S3 PUT).
public protocol ExportTarget: Sendable {
    /// A local directory for files being written. The exporter creates it when missing.
    var stagingDirectory: String { get }

    /// Makes the finished file at `stagedFile` appear whole under `key`
    /// (`events/2026/01/15/14/node-1_42.jsonl`), replacing an object of that key, and removes or
    /// consumes the staged file.
    func publish(stagedFile: String, key: String) async throws

    /// Removes the object `key` if it exists (a file of the same name with the other compression,
    /// left by an earlier run).
    func remove(key: String) async throws

    /// The bytes of the small state object `key` (`_state/node-1.json`, the export journal), or
    /// `nil` when there is none.
    func readState(key: String) async throws -> [UInt8]?

    /// Replaces the small state object `key` with `bytes`, atomically and durably: after it returns
    /// a reader (also after a crash) sees the new bytes, before it the old ones, never a mix.
    func writeState(_ bytes: [UInt8], key: String) async throws

    /// A description for logs and the CLI, for example `/data/lake` or `s3://bucket/prefix`.
    var location: String { get }
}
