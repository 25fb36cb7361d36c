/// A change that an ``EventStore``'s writing calls ask its writer to commit: what backends
/// queue in their ``GroupCommitQueue``.
public enum StoreChange: Sendable {
    /// ``EventStore/append(_:condition:)``: requests already validated.
    case append([AppendRequest], condition: AppendCondition?)
    /// ``EventStore/deleteStream(_:expectedRevision:mode:)``.
    case delete(stream: String, expected: ExpectedRevision, mode: DeleteMode)
    /// ``EventStore/setStreamMetadata(_:_:)``: metadata already validated.
    case setMetadata(stream: String, metadata: StreamMetadata)

    /// What the change weighs in a ``GroupCommitQueue``: an append its events (see
    /// `Array<AppendRequest>.groupCommitSize`), a delete or metadata change 256 bytes and one
    /// event (it writes one record or row).
    public var groupCommitSize: (bytes: Int, events: Int) {
        if case .append(let requests, _) = self { return requests.groupCommitSize }
        return (256, 1)
    }

    /// Whether this is an append.
    public var isAppend: Bool {
        if case .append = self { return true }
        return false
    }
}
