import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ports on 127.0.0.1 for servers that a test starts as child processes and that must be told
/// their port (nats-server, moto).
public enum LoopbackPort {
    /// A TCP port on 127.0.0.1 that was free a moment ago: the kernel's pick for a socket bound
    /// to port 0, which is closed again before returning.
    /// - Throws: ``Failure`` when no socket could be bound.
    public static func free() throws -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(step: "socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure(step: "bind") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A socket call failed while looking for a free port.
    public struct Failure: Error, CustomStringConvertible {
        /// The call that failed.
        public let step: String
        /// "no free loopback port: STEP failed".
        public var description: String { "no free loopback port: \(step) failed" }
    }
}
