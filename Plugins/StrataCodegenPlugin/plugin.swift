import Foundation
import PackagePlugin

/// Generates Swift from a target's event configs at build time (docs/SCHEMAS.md, "Build plugin").
///
/// The configs are the `*.json` files under the target's `events/` folder, or under the folder
/// named by `input` in an optional `strata-codegen.json` next to the target's sources:
///
/// ```json
/// {"input": "Schemas", "enumName": "Event", "conform": ["DomainEvent"], "import": ["StrataModel"]}
/// ```
///
/// The plugin runs the `StrataCodegen` tool, which writes `StrataEvents.swift` into the plugin's
/// work folder; SwiftPM compiles it with the target and runs the tool again whenever a config or
/// the settings file changes.
@main
struct StrataCodegenPlugin: BuildToolPlugin {
    /// The settings file, in the target's folder.
    static let settingsFileName = "strata-codegen.json"

    struct Settings {
        var input = "events"
        var enumName: String?
        var conform: [String] = []
        var imports: [String] = []
    }

    struct PluginError: Error, CustomStringConvertible {
        let description: String
    }

    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        guard let module = target as? SourceModuleTarget else { return [] }
        // `directoryURL` needs tools version 6.1; this package declares 6.0.
        let root = URL(fileURLWithPath: String(describing: module.directory))
        let settingsURL = root.appendingPathComponent(Self.settingsFileName)
        let hasSettings = FileManager.default.fileExists(atPath: settingsURL.path)
        let settings = hasSettings ? try Self.readSettings(settingsURL) : Settings()
        let folder = root.appendingPathComponent(settings.input)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PluginError(description: "StrataCodegenPlugin: target \(target.name) has no folder \(folder.path); put its event configs there or set \"input\" in \(Self.settingsFileName)")
        }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("StrataEvents.swift")
        var arguments = ["--input", folder.path, "--output", output.path]
        if let name = settings.enumName { arguments += ["--enum-name", name] }
        for name in settings.conform { arguments += ["--conform", name] }
        for name in settings.imports { arguments += ["--import", name] }
        return [
            .buildCommand(
                displayName: "Generating Swift from the event configs of \(target.name)",
                executable: try context.tool(named: "StrataCodegen").url,
                arguments: arguments,
                inputFiles: Self.configFiles(in: folder) + (hasSettings ? [settingsURL] : []),
                outputFiles: [output]
            ),
        ]
    }

    /// Every `*.json` file under `folder`, hidden ones skipped, in path order (what the generator reads).
    static func configFiles(in folder: URL) -> [URL] {
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles]) else {
            return []
        }
        var files: [URL] = []
        for case let url as URL in walker where url.pathExtension == "json" { files.append(url) }
        return files.sorted { $0.path < $1.path }
    }

    static func readSettings(_ url: URL) throws -> Settings {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: try Data(contentsOf: url))
        } catch {
            throw PluginError(description: "\(url.path): not valid JSON: \(error.localizedDescription)")
        }
        guard let fields = object as? [String: Any] else { throw PluginError(description: "\(url.path): must hold a JSON object") }
        var settings = Settings()
        for (key, value) in fields {
            switch (key, value) {
            case ("input", let v as String): settings.input = v
            case ("enumName", let v as String): settings.enumName = v
            case ("conform", let v as [String]): settings.conform = v
            case ("import", let v as [String]): settings.imports = v
            default:
                throw PluginError(description: "\(url.path): unknown or mistyped key \"\(key)\" (known: input, enumName, conform, import)")
            }
        }
        return settings
    }
}
