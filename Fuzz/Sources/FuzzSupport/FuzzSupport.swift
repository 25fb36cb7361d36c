import Foundation
import Strata
@testable import StrataLog
#if canImport(Glibc)
import Glibc
#endif

/// Helpers shared by the fuzz targets: scratch directories in /dev/shm, a template log store
/// built once per process, and checksum repair so mutated inputs get past the CRC gates.
public enum FuzzSupport {
    /// A directory of this process's own under /dev/shm (tmpfs: no disk I/O per input).
    public static let scratch: String = {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory()
        let path = "\(base)/strata-fuzz-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: FuzzSupport.scratch) }
        return path
    }()

    /// Runs an async operation to completion from synchronous fuzz code (only for setup).
    public static func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    /// CRC32C of bytes (the engine's implementation).
    public static func crc32c(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        CRC32C.checksum(bytes, continuing: crc)
    }

    /// Writes `bytes` to `path` (truncating).
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "cannot create \(path): errno \(errno)")
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            precondition(n > 0, "cannot write \(path): errno \(errno)")
            done += n
        }
        close(fd)
    }

    /// Rewrites the CRC field of every record that parses structurally (its length fits) from
    /// `start`, so the fuzzer reaches the field checks behind the checksum.
    public static func repairRecordChecksums(_ bytes: UnsafeMutableRawBufferPointer, from start: Int) {
        var at = start
        while at + RecordFormat.frameSize <= bytes.count {
            let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            if length == 0 || length > bytes.count - at - RecordFormat.frameSize { return }
            let body = UnsafeRawBufferPointer(rebasing: bytes[(at + RecordFormat.frameSize)..<(at + RecordFormat.frameSize + length)])
            bytes.storeBytes(of: CRC32C.checksum(body).littleEndian, toByteOffset: at + RecordFormat.checksumOffset, as: UInt32.self)
            at += RecordFormat.frameSize + length
        }
    }

    /// Rewrites a segment header's checksum (bytes 60..<64) when the header is complete.
    public static func repairHeaderChecksum(_ bytes: UnsafeMutableRawBufferPointer) {
        guard bytes.count >= SegmentHeader.size else { return }
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<60]))
        bytes.storeBytes(of: crc.littleEndian, toByteOffset: 60, as: UInt32.self)
    }
}

private final class ResultBox<T>: @unchecked Sendable { var result: Result<T, any Error>? }

/// A small log store made once per process: several segments (4 KiB each), streams with
/// metadata, a soft delete and a tombstone, an index checkpoint and a HEAD file. Each input
/// runs against a fresh copy in which one file is replaced by the fuzz bytes.
public enum TemplateStore {
    public static let directory: String = {
        let dir = FuzzSupport.scratch + "/template"
        do {
            try FuzzSupport.runBlocking {
                let store = try LogEventStore(directory: dir, configuration: LogConfiguration(segmentSize: 4096))
                for i in 0..<12 {
                    let events = (0..<(1 + i % 3)).map { j in
                        EventData(type: "Happened\(j)", data: Data(#"{"i":\#(i),"j":\#(j),"text":"\#(String(repeating: "x", count: 300 * j))"}"#.utf8),
                                  metadata: j == 1 ? Data(#"{"by":"fuzz"}"#.utf8) : nil)
                    }
                    _ = try await store.append([AppendRequest(stream: "stream-\(i % 4)", expectedRevision: .any, events: events)], condition: nil)
                }
                try await store.setStreamMetadata("stream-1", StreamMetadata(maxCount: 3, maxAge: 3600, custom: Data(#"{"k":1}"#.utf8)))
                try await store.deleteStream("stream-2", expectedRevision: .any, mode: .soft)
                try await store.deleteStream("stream-3", expectedRevision: .any, mode: .tombstone)
                _ = try await store.append([AppendRequest(stream: "stream-0", expectedRevision: .any,
                                                          events: [EventData(type: "Last", data: Data("bin\u{0}ary".utf8), contentType: "application/octet-stream")])],
                                           condition: nil)
                try await store.close()
            }
        } catch {
            fatalError("cannot build the template store: \(error)")
        }
        // scripts/fuzz-seeds.py builds the committed seeds of the log targets from this copy.
        if let export = ProcessInfo.processInfo.environment["STRATA_FUZZ_EXPORT_TEMPLATE"] {
            try? FileManager.default.removeItem(atPath: export)
            try? FileManager.default.copyItem(atPath: dir, toPath: export)
        }
        return dir
    }()

    /// The template's segment file paths, oldest first.
    public static var segmentPaths: [String] {
        let dir = directory + "/" + SegmentFile.directoryName
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".seg") }.sorted()
        return names.map { dir + "/" + $0 }
    }

    private static var counter = 0

    /// A fresh copy of the template; the caller removes it with `remove(_:)`.
    public static func copy() -> String {
        counter += 1
        let target = FuzzSupport.scratch + "/run-\(counter)"
        try? FileManager.default.removeItem(atPath: target)
        do { try FileManager.default.copyItem(atPath: directory, toPath: target) } catch { fatalError("copy: \(error)") }
        return target
    }

    public static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    /// Opens the store in `directory` the way a process does (recovery, checkpoint, HEAD), then
    /// reads everything back through the index: every failure must be a thrown error.
    ///
    /// With `head`, those bytes are written over the `HEAD` page after the open, as another
    /// process would publish them, and the engine consults the hint and catches up.
    public static func openAndReadAll(_ directory: String, head: [UInt8]? = nil) {
        guard let engine = try? LogEngine(directory: directory, configuration: LogConfiguration(segmentSize: 4096)) else { return }
        if let head {
            let fd = open(directory + "/" + HeadHint.fileName, O_WRONLY | O_CLOEXEC)
            precondition(fd >= 0)
            _ = head.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            close(fd)
            if engine.hintIsAhead() { _ = try? engine.catchUp(willWrite: false) }
            _ = try? engine.catchUp(willWrite: true)
        }
        var origin = ReadOrigin.start
        var pages = 0
        while pages < 1000, let page = try? engine.readAllPage(from: origin, direction: .forward, filter: EventFilter(), maxCount: 7) {
            pages += 1
            for event in page.events { _ = event.stream.utf8.count &+ event.data.count }
            guard let next = page.next else { break }
            origin = .at(next)
        }
        _ = try? engine.readAllPage(from: .end, direction: .backward, filter: EventFilter(streamPrefixes: ["stream-1"]), maxCount: 5)
        for s in 0..<5 {
            _ = try? engine.streamInfo("stream-\(s)")
            _ = try? engine.readStreamPage("stream-\(s)", from: .start, direction: .forward, maxCount: 100)
            _ = try? engine.readStreamPage("stream-\(s)", from: .end, direction: .backward, maxCount: 2)
        }
        _ = engine.stats()
        engine.withIndexLock { engine.closed = true }
        engine.notifier.close()
    }
}

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// Runs libFuzzer's driver with the process arguments and `callback` as the fuzz target.
///
/// SwiftPM links an executable target with `--defsym main=<Target>_main` (so tests can import
/// executables), which takes `main` away from libFuzzer: each target defines `<Target>_main`
/// by calling this, and libFuzzer runs exactly as from its own `main`.
public func runLibFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, callback)
}
