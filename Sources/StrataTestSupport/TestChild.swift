import Foundation
import Strata

/// The test child (`StrataTestChild`): one executable that opens any store by URL and runs a
/// workload, printing one line per observable step. The multi-process, kill and restart tests of
/// every backend start it; Sources/StrataTestChild/main.swift lists the workloads and options.
///
/// ```swift
/// let child = try TestChild.start(store: "file:\(directory)?durability=fsync", "append", ["--prefix", "crash"])
/// try await child.waitForLines("10 acks") { AckLine.parse($0).count >= 10 }
/// try await child.kill()
/// ```
public enum TestChild {
    /// The executable's name in the build directory.
    public static let name = "StrataTestChild"

    /// Starts `StrataTestChild --store STORE WORKLOAD OPTIONS…` (the executable: `STRATA_TEST_CHILD`,
    /// or the one built next to the tests).
    public static func start(store: String, _ workload: String, _ options: [String] = []) throws -> ChildProcess {
        let executable = try Executable.requireBuilt(name, overriddenBy: "STRATA_TEST_CHILD")
        return try ChildProcess.start(executable, ["--store", store, workload] + options)
    }
}

/// An acknowledged append as the test child prints it:
/// `ack <firstPosition> <lastPosition> <stream> <lastRevision> <id-of-the-last-event>`.
public struct AckLine: Hashable, Sendable, CustomStringConvertible {
    /// The position of the append's first event.
    public let firstPosition: UInt64
    /// The position of its last event.
    public let lastPosition: UInt64
    /// The stream it went to.
    public let stream: String
    /// The stream revision of its last event.
    public let lastRevision: UInt64
    /// The id of its last event.
    public let lastID: UUID

    /// The line for `result`, an append whose last event has `lastID`.
    public init(_ result: AppendResult, lastID: UUID) {
        firstPosition = result.firstPosition
        lastPosition = result.lastPosition
        stream = result.stream
        lastRevision = result.lastRevision
        self.lastID = lastID
    }

    /// Parses an `ack` line; nil for any other line, or one whose numbers do not fit together.
    public init?(line: String) {
        let parts = line.split(separator: " ")
        guard parts.count == 6, parts[0] == "ack", let first = UInt64(parts[1]), let last = UInt64(parts[2]),
              let revision = UInt64(parts[4]), let id = UUID(uuidString: String(parts[5])), first <= last,
              revision >= last - first + 1 else { return nil }
        firstPosition = first
        lastPosition = last
        stream = String(parts[3])
        lastRevision = revision
        lastID = id
    }

    /// The `ack` lines among `lines`.
    public static func parse(_ lines: [String]) -> [AckLine] { lines.compactMap(AckLine.init(line:)) }

    /// How many events the append stored.
    public var count: Int { Int(lastPosition - firstPosition + 1) }

    /// The line.
    public var description: String { "ack \(firstPosition) \(lastPosition) \(stream) \(lastRevision) \(lastID.uuidString)" }
}

/// An event delivered to the test child's subscription: `event <position> <stream> <revision> <id>`.
public struct EventLine: Hashable, Sendable, CustomStringConvertible {
    /// The event's position in `$all`.
    public let position: UInt64
    /// Its stream.
    public let stream: String
    /// Its revision in the stream.
    public let revision: UInt64
    /// Its id.
    public let id: UUID

    /// The line for a recorded event.
    public init(_ event: RecordedEvent) {
        position = event.position
        stream = event.stream
        revision = event.revision
        id = event.id
    }

    /// Parses an `event` line; nil for any other line.
    public init?(line: String) {
        let parts = line.split(separator: " ")
        guard parts.count == 5, parts[0] == "event", let position = UInt64(parts[1]), let revision = UInt64(parts[3]),
              let id = UUID(uuidString: String(parts[4])) else { return nil }
        self.position = position
        stream = String(parts[2])
        self.revision = revision
        self.id = id
    }

    /// The `event` lines among `lines`.
    public static func parse(_ lines: [String]) -> [EventLine] { lines.compactMap(EventLine.init(line:)) }

    /// The line.
    public var description: String { "event \(position) \(stream) \(revision) \(id.uuidString)" }
}
