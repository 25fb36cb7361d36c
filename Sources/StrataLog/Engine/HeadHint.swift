import Foundation
import StrataStorage
#if canImport(Glibc)
import Glibc
#endif

/// A small shared-memory page (the `HEAD` file, mapped by every process that opens the
/// directory) where writers publish the end of the log after each batch. Other processes compare
/// it with what they have indexed to notice appends without scanning or listing files. It is a
/// hint: the log itself is the truth, and a stale or zeroed hint only costs a rescan.
final class HeadHint: @unchecked Sendable {
    // Safe to share: the mapping lives as long as this object, values are 8-byte aligned
    // words (atomic on the platforms we run on), and writers publish only under the directory lock.
    struct Value: Equatable {
        var lastSegmentFirstPosition: UInt64
        var lastSegmentEnd: UInt64
        var head: UInt64
    }

    static let fileName = "HEAD"
    private static let magic: UInt64 = 0x5354_5241_5441_4844 // "STRATAHD"
    private let base: UnsafeMutableRawPointer
    private let file: (any StorageFile)?
    /// Mapped read-only (a read-only open): never written; `nil` file when there is no `HEAD`.
    let readOnly: Bool

    init(directory: String, fileSystem: any FileSystem, readOnly: Bool = false) throws {
        let path = directory + "/" + HeadHint.fileName
        self.readOnly = readOnly
        if readOnly {
            // A store no writer of this format opened has no HEAD: a zeroed page never says
            // anything is new, and the reader rescans at every refresh instead.
            guard fileSystem.exists(path), let file = try? fileSystem.open(path, mode: .readOnly),
                  (try? file.size()).map({ $0 >= 4096 }) == true, let mapped = try? file.map(size: 4096), let address = mapped.baseAddress else {
                base = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 8)
                base.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
                file = nil
                return
            }
            base = UnsafeMutableRawPointer(mutating: address)
            self.file = file
            return
        }
        let file = try StrataErrorBridge.run { try fileSystem.open(path, mode: .create) }
        do {
            if try file.size() < 4096 { try file.truncate(to: 4096) }
            base = try file.mapShared(size: 4096)
        } catch {
            file.close()
            throw StrataErrorBridge.convert(error)
        }
        self.file = file
    }

    deinit {
        if let file {
            file.unmap(base, count: 4096)
            file.close()
        } else {
            base.deallocate()
        }
    }

    /// Whether a value can be read: a read-only open of a store without `HEAD` cannot.
    var isAvailable: Bool { file != nil }

    private func word(_ i: Int) -> UnsafeMutablePointer<UInt64> {
        (base + 8 * i).assumingMemoryBound(to: UInt64.self)
    }

    /// The published value, or nil when none was published yet.
    func load() -> Value? {
        guard UnsafeAtomicLoad.load(word(0)) == HeadHint.magic else { return nil }
        return Value(lastSegmentFirstPosition: UnsafeAtomicLoad.load(word(1)), lastSegmentEnd: UnsafeAtomicLoad.load(word(2)),
                     head: UnsafeAtomicLoad.load(word(3)))
    }

    /// Bumps the lock generation and returns the value it had. Every writer calls this right
    /// after taking the directory lock, before touching any file: a writer that finds the
    /// generation it left knows no other process held the lock in between.
    func takeLockGeneration() -> UInt64 {
        precondition(!readOnly, "a read-only open never takes the lock")
        let previous = UnsafeAtomicLoad.load(word(4))
        UnsafeAtomicLoad.store(word(4), previous &+ 1)
        return previous
    }

    /// The lock generation, unchanged (for a lock holder that will not modify any file).
    var lockGeneration: UInt64 { UnsafeAtomicLoad.load(word(4)) }

    /// Publishes a value. Call under the directory lock.
    func store(_ v: Value) {
        precondition(!readOnly, "a read-only open never publishes")
        UnsafeAtomicLoad.store(word(1), v.lastSegmentFirstPosition)
        UnsafeAtomicLoad.store(word(2), v.lastSegmentEnd)
        UnsafeAtomicLoad.store(word(3), v.head)
        UnsafeAtomicLoad.store(word(0), HeadHint.magic)
    }
}

/// Volatile word access to shared memory (the compiler must not cache these loads).
enum UnsafeAtomicLoad {
    @inline(never) static func load(_ p: UnsafeMutablePointer<UInt64>) -> UInt64 { p.pointee }
    @inline(never) static func store(_ p: UnsafeMutablePointer<UInt64>, _ v: UInt64) { p.pointee = v }
}
