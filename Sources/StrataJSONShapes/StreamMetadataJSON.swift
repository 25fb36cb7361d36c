import Foundation
import Strata
import StrataJSON

/// Stream metadata as JSON, the one writer the HTTP API and the CLI share: `maxCount`, `maxAge`,
/// `truncateBefore` and `custom` (embedded when it is JSON, else `customBase64`), each only
/// when set.
public enum StreamMetadataJSON {
    /// Writes `metadata` as an object; `exact` writes `custom` as `customBase64` always.
    public static func write(_ metadata: StreamMetadata, exact: Bool = false, into out: inout JSONWriter) {
        out.beginObject()
        if let v = metadata.maxCount { out.key("maxCount"); out.number(v) }
        if let v = metadata.maxAge { out.key("maxAge"); out.number(v) }
        if let v = metadata.truncateBefore { out.field("truncateBefore", v) }
        if let custom = metadata.custom {
            if exact || !JSONSyntax.isValid(custom) {
                out.field("customBase64", custom.base64EncodedString())
            } else {
                out.key("custom")
                out.rawJSON(custom)
            }
        }
        out.endObject()
    }
}
