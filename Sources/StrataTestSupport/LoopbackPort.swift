import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ports on 127.0.0.1: free ones for servers that a test starts as child processes and that
/// must be told their port (nats-server, moto), and a listener that never answers.
public enum LoopbackPort {
    /// A TCP port on 127.0.0.1 that was free a moment ago: the kernel's pick for a socket bound
    /// to port 0, which is closed again before returning.
    /// - Throws: ``Failure`` when no socket could be bound.
    public static func free() throws -> Int {
        let (descriptor, port) = try bound(listening: false)
        close(descriptor)
        return port
    }

    /// A socket listening on a free port of 127.0.0.1 that never accepts: a server that takes
    /// connections (the kernel completes the handshake) and never answers. Close the descriptor
    /// when done.
    public static func silentListener() throws -> (descriptor: Int32, port: Int) {
        try bound(listening: true)
    }

    private static func bound(listening: Bool) throws -> (descriptor: Int32, port: Int) {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(step: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            close(fd)
            throw Failure(step: "bind")
        }
        guard !listening || listen(fd, 8) == 0 else {
            close(fd)
            throw Failure(step: "listen")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A socket call failed while looking for a port.
    public struct Failure: Error, CustomStringConvertible {
        /// The call that failed.
        public let step: String
        /// "no free loopback port: STEP failed".
        public var description: String { "no free loopback port: \(step) failed" }
    }
}
