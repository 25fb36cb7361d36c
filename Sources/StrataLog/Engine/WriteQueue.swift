import Foundation
import Strata

/// A change to a stream other than appending events.
enum ControlOperation: Sendable {
    case delete(stream: String, expected: ExpectedRevision, mode: DeleteMode)
    case setMetadata(stream: String, metadata: StreamMetadata)
}

/// The queue in front of the writer thread. Callers enqueue and suspend; the writer takes
/// everything queued as one batch (group commit) and resumes each caller when its batch is done.
final class WriteQueue: @unchecked Sendable {
    // Safe to share: every field is read and written under `condition`.
    enum Operation {
        case append([AppendRequest], AppendCondition?, CheckedContinuation<[AppendResult], any Error>)
        case control(ControlOperation, CheckedContinuation<Void, any Error>)
        /// Bring the index up to date with other processes' appends.
        case refresh(CheckedContinuation<Void, any Error>)
        /// Sync, checkpoint and stop the writer.
        case close(CheckedContinuation<Void, any Error>)

        var estimatedBytes: Int {
            guard case .append(let requests, _, _) = self else { return 256 }
            var total = 0
            for r in requests { for e in r.events { total += 128 + r.stream.utf8.count + e.encodedSize } }
            return total
        }

        func fail(_ error: any Error) {
            switch self {
            case .append(_, _, let c): c.resume(throwing: error)
            case .control(_, let c), .refresh(let c), .close(let c): c.resume(throwing: error)
            }
        }
    }

    let condition = NSCondition()
    private var operations: [Operation] = []
    private var accepting = true
    /// The most bytes one group-commit batch takes from the queue (one atomic append may exceed it).
    static let maxBatchBytes = 32 << 20

    func enqueue(_ operation: Operation) {
        condition.lock()
        if !accepting {
            condition.unlock()
            operation.fail(StrataError.storeClosed(reason: "close() was called"))
            return
        }
        if case .close = operation { accepting = false }
        operations.append(operation)
        condition.signal()
        condition.unlock()
    }

    /// Takes the next batch, waiting until there is one or `deadline` passes (nil: wait forever).
    /// Returns an empty batch on timeout.
    func takeBatch(deadline: Date?) -> [Operation] {
        condition.lock()
        defer { condition.unlock() }
        while operations.isEmpty {
            if let deadline {
                if !condition.wait(until: deadline) && operations.isEmpty { return [] }
            } else {
                condition.wait()
            }
        }
        var bytes = 0
        var count = 0
        for op in operations {
            bytes += op.estimatedBytes
            count += 1
            if bytes >= WriteQueue.maxBatchBytes { break }
        }
        let batch = Array(operations.prefix(count))
        operations.removeFirst(count)
        return batch
    }

    func submitAppend(_ requests: [AppendRequest], condition appendCondition: AppendCondition?) async throws -> [AppendResult] {
        try await withCheckedThrowingContinuation { c in enqueue(.append(requests, appendCondition, c)) }
    }

    func submitControl(_ operation: ControlOperation) async throws {
        try await withCheckedThrowingContinuation { c in enqueue(.control(operation, c)) }
    }

    func submitRefresh(_ engine: LogEngine) async throws {
        try await withCheckedThrowingContinuation { c in enqueue(.refresh(c)) }
    }

    func submitClose() async throws {
        try await withCheckedThrowingContinuation { c in enqueue(.close(c)) }
    }
}
