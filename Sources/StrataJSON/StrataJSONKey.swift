/// The coding key StrataJSON puts in coding paths it builds itself: object keys read from the
/// input and array positions (`Index 3`, like Foundation).
public struct StrataJSONKey: CodingKey, Hashable, Sendable {
    /// The key's text.
    public let stringValue: String
    /// The array position, for keys that name one.
    public let intValue: Int?

    /// Creates a key naming an object member.
    public init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    /// Creates a key naming an array position.
    public init(intValue: Int) {
        self.stringValue = "\(intValue)"
        self.intValue = intValue
    }

    /// A key naming array element `index`, spelt `Index N` as Foundation does.
    public init(index: Int) {
        self.stringValue = "Index \(index)"
        self.intValue = index
    }

    /// The key `super`, used by `superDecoder()` and `superEncoder()`.
    public static let `super` = StrataJSONKey(stringValue: "super")
}
