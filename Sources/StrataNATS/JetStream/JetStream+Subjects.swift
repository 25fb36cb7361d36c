import Foundation

extension JetStream {
    private struct SubjectsRequest: Encodable {
        var subjects_filter: String
        var offset: Int
    }

    private struct SubjectsAnswer: Decodable {
        struct State: Decodable { var subjects: [String: UInt64]? }
        var state: State
        var total: Int?
        var limit: Int?
    }

    /// The subjects of `stream` that match `filter` (wildcards allowed), with how many messages
    /// each holds: `STREAM.INFO` with `subjects_filter`, every page.
    public func subjects(stream: String, filter: String) async throws -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        while true {
            let answer = try await api("STREAM.INFO.\(stream)", SubjectsRequest(subjects_filter: filter, offset: result.count), as: SubjectsAnswer.self)
            let page = answer.state.subjects ?? [:]
            result.merge(page) { _, new in new }
            guard !page.isEmpty, let total = answer.total, result.count < total else { return result }
        }
    }

    private struct PurgeRequest: Encodable { var filter: String }
    private struct PurgeAnswer: Decodable { var success: Bool }

    /// Removes every message of `subject` from `stream` (`STREAM.PURGE` with a filter): a
    /// key-value delete that leaves nothing behind.
    public func purge(stream: String, subject: String) async throws {
        _ = try await api("STREAM.PURGE.\(stream)", PurgeRequest(filter: subject), as: PurgeAnswer.self)
    }
}
