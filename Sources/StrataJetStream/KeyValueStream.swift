import Strata
import StrataNATS

/// A key-value stream (one message kept per subject) whose values carry a versioned format
/// header: the raw reads and compare-and-set writes the store's index (`StoreIndex`) and the
/// consumers' records (``JetStreamCheckpointStore``) share.
struct KeyValueStream: Sendable {
    let js: JetStream
    /// The stream's name.
    let stream: String
    /// The header every value carries, and the format version this build reads and writes.
    let header: String
    let version: String

    /// The value of a key and its subject sequence, or `nil` when the key was never written (or was purged).
    /// - Throws: ``StrataError/unsupportedFormat(path:found:supported:)`` for a value of another version.
    func get(_ subject: String) async throws -> (body: [UInt8], sequence: UInt64)? {
        guard let m = try await js.getLastMessage(stream: stream, subject: subject) else { return nil }
        let found = m.headers?[header] ?? "none"
        guard found == version else {
            throw StrataError.unsupportedFormat(path: "\(stream)#\(m.streamSequence)", found: "\(header) \(found)",
                                                supported: "\(header) \(version)")
        }
        return (m.bytes, m.streamSequence)
    }

    /// Writes a key; with `expected`, only if its last subject sequence is still that (0: never written).
    /// - Returns: the new subject sequence, or `nil` when another writer came first.
    @discardableResult
    func put(_ subject: String, _ body: [UInt8], expected: UInt64?) async throws -> UInt64? {
        var headers = NATSHeaders()
        headers[header] = version
        do {
            return try await js.publish(subject, payload: body, headers: headers,
                                        options: JetStreamPublishOptions(expectedLastSubjectSequence: expected, expectedStream: stream)).seq
        } catch NATSError.jetStream(_, let code, _) where code == NATSError.wrongLastSequenceCode {
            return nil
        }
    }
}
