import Foundation
import Strata

/// The files the server ships as package resources: the OpenAPI document and the admin page.
struct StaticResources: Sendable {
    struct File: Sendable {
        let bytes: [UInt8]
        let contentType: String
    }

    let openAPI: [UInt8]
    /// Admin page files by name (`index.html`, `app.js`, `style.css`).
    let admin: [String: File]

    static func load() throws -> StaticResources {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw StrataError.io(path: "openapi.yaml", operation: "find resource", reason: "missing from the StrataServer bundle")
        }
        let openAPI = try [UInt8](Data(contentsOf: url))
        var admin: [String: File] = [:]
        let types = ["html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                     "svg": "image/svg+xml"]
        if let directory = Bundle.module.url(forResource: "admin", withExtension: nil) {
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
                let ext = (name as NSString).pathExtension
                guard let type = types[ext] else { continue }
                admin[name] = File(bytes: try [UInt8](Data(contentsOf: directory.appendingPathComponent(name))), contentType: type)
            }
        }
        return StaticResources(openAPI: openAPI, admin: admin)
    }
}
