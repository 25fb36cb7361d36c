/// The text of a NATS credentials file in `nsc`'s layout, for the tests of the NATS client and
/// of `nats://` store URLs: the user JWT block, nsc's warning, the user seed block.
public enum NATSCredentialsFile {
    /// Three base64url parts joined by dots: the shape of a JWT, signed by nobody (`{"a":1}`,
    /// `{"b":2}`, `sig`), for tests that parse files and build CONNECT without a server.
    public static let unsignedJWT = "eyJhIjoxfQ.eyJiIjoyfQ.c2ln"

    /// The file's text; a block is left out when its value is `nil`, and `dashes` sets the
    /// dashes of the BEGIN markers (the END markers get one more on each side, as nsc writes them).
    public static func text(jwt: String?, seed: String?, dashes: Int = 5) -> String {
        let d = String(repeating: "-", count: dashes)
        var text = ""
        if let jwt { text += "\(d)BEGIN NATS USER JWT\(d)\n\(jwt)\n\(d)-END NATS USER JWT\(d)-\n\n" }
        text += "************************* IMPORTANT *************************\nKeep the seed below secret.\n\n"
        if let seed { text += "\(d)BEGIN USER NKEY SEED\(d)\n\(seed)\n\(d)-END USER NKEY SEED\(d)-\n\n" }
        return text + "*************************************************************\n"
    }
}
