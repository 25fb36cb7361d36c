import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes one line to stdout with one write(2), unbuffered: the child may be killed right
/// after, and its parent must have every line it printed. Lines of concurrent workloads never
/// interleave (each is far below PIPE_BUF).
func emit(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes[done...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress!, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            exit(3) // the parent went away
        }
        done += n
    }
}

/// One line on stderr, then exit status 1.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("StrataTestChild: \(message)\n".utf8))
    exit(1)
}
