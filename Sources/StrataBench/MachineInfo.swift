import Foundation

/// Facts about the machine and the run, so that a reader can place the figures.
enum MachineInfo {
    static func collect(backend: String, scale: String, workDirectory: String) -> [(key: String, value: MachineValue)] {
        var info: [(key: String, value: MachineValue)] = []
        info.append(("cores", .integer(Int64(ProcessInfo.processInfo.activeProcessorCount))))
        info.append(("memoryBytes", .integer(Int64(ProcessInfo.processInfo.physicalMemory))))
        info.append(("kernel", .text(kernel())))
        info.append(("os", .text(osName())))
        info.append(("cpu", .text(cpuModel())))
        #if DEBUG
        info.append(("build", .text("debug")))
        #else
        info.append(("build", .text("release")))
        #endif
        info.append(("backend", .text(backend)))
        info.append(("scale", .text(scale)))
        info.append(("workDirectory", .text(workDirectory)))
        info.append(("filesystem", .text(filesystem(of: workDirectory))))
        info.append(("date", .text(ISO8601DateFormatter().string(from: Date()))))
        return info
    }

    static func kernel() -> String {
        var name = utsname()
        uname(&name)
        let field = { (value: Any) -> String in
            Mirror(reflecting: value).children.compactMap { $0.value as? CChar }.prefix { $0 != 0 }
                .map { String(UnicodeScalar(UInt8(bitPattern: $0))) }.joined()
        }
        return "\(field(name.sysname)) \(field(name.release)) \(field(name.machine))"
    }

    static func osName() -> String {
        guard let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            return line.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return "unknown"
    }

    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return "unknown"
    }

    /// The file system type of a directory, from /proc/mounts (the longest mount point that contains it).
    static func filesystem(of directory: String) -> String {
        guard let text = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return "unknown" }
        let path = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        var best = (length: -1, type: "unknown")
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let mount = String(fields[1])
            let contains = mount == "/" || path == mount || path.hasPrefix(mount + "/")
            if contains && mount.count > best.length { best = (mount.count, String(fields[2])) }
        }
        return best.type
    }
}
