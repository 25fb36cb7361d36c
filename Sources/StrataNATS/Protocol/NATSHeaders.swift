import NIOCore

/// The header block of an `HPUB`/`HMSG`: an optional status line (`NATS/1.0 503`) and ordered
/// `Name: Value` fields. Names are compared exactly, as nats-server does.
public struct NATSHeaders: Sendable, Hashable {
    /// The status code of the version line (`100`, `404`, `408`, `503` …), if any.
    public var status: Int?
    /// The text after the status code (`Idle Heartbeat`, `FlowControl Request`, `No Messages` …).
    public var statusDescription: String
    /// The fields in the order they were given; a name may repeat.
    public var fields: [(name: String, value: String)]

    /// Creates a header block.
    public init(_ fields: [(name: String, value: String)] = [], status: Int? = nil, statusDescription: String = "") {
        self.fields = fields
        self.status = status
        self.statusDescription = statusDescription
    }

    /// The first value of a field.
    public subscript(name: String) -> String? {
        get { fields.first { $0.name == name }?.value }
        set {
            fields.removeAll { $0.name == name }
            if let newValue { fields.append((name, newValue)) }
        }
    }

    /// Whether the block has neither a status nor a field.
    public var isEmpty: Bool { status == nil && fields.isEmpty }

    public static func == (a: NATSHeaders, b: NATSHeaders) -> Bool {
        a.status == b.status && a.statusDescription == b.statusDescription
            && a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(status)
        for f in fields { hasher.combine(f.name); hasher.combine(f.value) }
    }

    /// Writes the block as the protocol has it: `NATS/1.0\r\nName: Value\r\n\r\n`.
    /// - Throws: ``NATSError/invalidArgument(_:)`` for a name or value with CR, LF or (names) `:`.
    public func write(into buffer: inout ByteBuffer) throws {
        buffer.writeString("NATS/1.0")
        if let status { buffer.writeString(" \(status)") }
        if !statusDescription.isEmpty { buffer.writeString(" \(statusDescription)") }
        buffer.writeString("\r\n")
        for (name, value) in fields {
            if name.isEmpty || name.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 58 || $0 == 32 }) {
                throw NATSError.invalidArgument("header name \(name.debugDescription) is empty or has CR, LF, space or ':'")
            }
            if value.utf8.contains(where: { $0 == 13 || $0 == 10 }) {
                throw NATSError.invalidArgument("header value of \(name) has CR or LF")
            }
            buffer.writeString(name)
            buffer.writeString(": ")
            buffer.writeString(value)
            buffer.writeString("\r\n")
        }
        buffer.writeString("\r\n")
    }

    /// Parses a header block (everything up to and including the blank line).
    /// - Throws: ``NATSError/protocolViolation(_:)`` when it does not start with `NATS/1.0`.
    public static func parse(_ bytes: ByteBufferView) throws -> NATSHeaders {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard let first = lines.first, first.hasPrefix("NATS/1.0") else {
            throw NATSError.protocolViolation("a header block does not start with NATS/1.0")
        }
        lines.removeFirst()
        var headers = NATSHeaders()
        let rest = first.dropFirst("NATS/1.0".count).drop { $0 == " " }
        if !rest.isEmpty {
            let code = rest.prefix { $0 != " " }
            headers.status = Int(code)
            headers.statusDescription = String(rest.dropFirst(code.count).drop { $0 == " " })
        }
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let value = String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
            headers.fields.append((name, value))
        }
        return headers
    }
}
