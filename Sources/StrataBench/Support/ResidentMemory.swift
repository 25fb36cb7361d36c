import Foundation

/// The process's resident memory, from `/proc/self/status` (Linux).
public enum ResidentMemory {
    /// VmRSS in bytes, or nil where `/proc` is not available.
    public static func current() -> Int64? { field("VmRSS:") }

    /// RssAnon in bytes: the resident part that is not file pages (the heap, mainly), which the
    /// kernel cannot reclaim without swap; nil where `/proc` is not available.
    public static func anonymous() -> Int64? { field("RssAnon:") }

    private static func field(_ name: String) -> Int64? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(name) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kib = Int64(fields[1]) { return kib * 1024 }
        }
        return nil
    }
}
