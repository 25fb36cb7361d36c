import Foundation

/// `--store URL WORKLOAD [--OPTION VALUE]…`, read strictly: a workload names the options it
/// takes, and anything else is a usage error (exit status 2).
struct ChildArguments {
    let store: String
    let workload: String
    private let options: [String: String]

    init(_ arguments: [String]) {
        guard arguments.count >= 3, arguments[0] == "--store" else {
            Self.usage("StrataTestChild --store URL append|follow|consume|emit [--OPTION VALUE]…")
        }
        store = arguments[1]
        workload = arguments[2]
        var options: [String: String] = [:]
        var index = 3
        while index < arguments.count {
            let key = arguments[index]
            guard key.hasPrefix("--"), index + 1 < arguments.count else { Self.usage("bad argument \(key)") }
            options[String(key.dropFirst(2))] = arguments[index + 1]
            index += 2
        }
        self.options = options
    }

    /// Fails on any option not in `known`.
    func allow(_ known: Set<String>) {
        for name in options.keys where !known.contains(name) {
            Self.usage("the \(workload) workload takes no --\(name) (it takes --\(known.sorted().joined(separator: ", --")))")
        }
    }

    func string(_ name: String) -> String? { options[name] }

    func required(_ name: String) -> String {
        guard let value = options[name] else { Self.usage("the \(workload) workload needs --\(name)") }
        return value
    }

    /// A non-negative integer option, or `fallback`.
    func number(_ name: String, default fallback: Int? = nil) -> Int? {
        guard let text = options[name] else { return fallback }
        guard let n = Int(text), n >= 0 else { Self.usage("--\(name) needs a non-negative integer, not \(text)") }
        return n
    }

    func requiredNumber(_ name: String) -> Int {
        guard let n = number(name) else { Self.usage("the \(workload) workload needs --\(name)") }
        return n
    }

    static func usage(_ message: String) -> Never {
        FileHandle.standardError.write(Data("StrataTestChild: \(message)\n".utf8))
        exit(2)
    }
}
