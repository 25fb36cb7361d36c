import ArgumentParser
import Foundation
import Strata
import StrataCommandLine
import StrataJSONShapes
import StrataBench
import StrataJSON

/// `strata-bench open-probe` (hidden): opens a store in a fresh process and reports the open
/// time and resident memory as one JSON line, so that the store bench measures memory without
/// its own.
struct OpenProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open-probe",
        abstract: "Open a store, print open time and resident memory as JSON (used by bench).",
        shouldDisplay: false
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let url = try global.storeURL()
        let measurement: OpenMeasurement
        if url.backend == .sqlite, let path = url.path {
            guard url.exists else { throw CommandFailure.noStore(path: path) }
            measurement = try await OpenWorkload.measure(SQLiteBenchBackend(), directory: (path as NSString).deletingLastPathComponent)
        } else {
            guard url.backend == .file, let path = url.path else {
                throw CommandFailure.notApplicable("the open probe measures file: and sqlite: stores, not \(url)")
            }
            guard url.exists else { throw CommandFailure.noStore(path: path) }
            measurement = try await OpenWorkload.measure(LogBenchBackend(), directory: path)
        }
        var out = JSONWriter()
        out.beginObject()
        out.key("milliseconds")
        out.number(measurement.milliseconds)
        out.key("residentBytes")
        if let bytes = measurement.residentBytes { out.number(bytes) } else { out.null() }
        out.key("anonymousBytes")
        if let bytes = measurement.anonymousBytes { out.number(bytes) } else { out.null() }
        out.field("headPosition", measurement.headPosition)
        out.endObject()
        StandardOutput.stdout.writeLine(out.bytes)
        StandardOutput.stdout.flush()
    }

    /// Runs this command in a child process (this same executable) and parses its answer.
    static func runInChild(store: String) async throws -> OpenMeasurement {
        let process = Process()
        let linuxSelf = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.executableURL = linuxSelf.path == "/proc/self/exe"
            ? URL(fileURLWithPath: CommandLine.arguments[0]) : linuxSelf
        process.arguments = ["open-probe", "--store", store]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let finished = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in finished.continuation.finish() }
        try process.run()
        // The answer is one short line, far below a pipe's buffer, so reading after exit is safe.
        for await _ in finished.stream {}
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0,
              let object = try? JSONValue(parsing: stdout),
              let milliseconds = object["milliseconds"]?.numberValue,
              let head = object["headPosition"]?.integerValue.flatMap(UInt64.init(exactly:)) else {
            throw StrataError.io(path: store, operation: "strata-bench open-probe",
                                 reason: "status \(process.terminationStatus): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return OpenMeasurement(milliseconds: milliseconds, residentBytes: object["residentBytes"]?.integerValue,
                               anonymousBytes: object["anonymousBytes"]?.integerValue, headPosition: head)
    }
}
