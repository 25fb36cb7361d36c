import Foundation

extension StrataJSONDecoder {
    /// How a `Date` is read. The names and the default follow Foundation's `JSONDecoder`.
    public enum DateDecodingStrategy: Sendable {
        /// `Date`'s own `Decodable`: a number of seconds since 2001-01-01 00:00:00 UTC (the default).
        case deferredToDate
        /// A number of seconds since 1970-01-01 00:00:00 UTC.
        case secondsSince1970
        /// A number of milliseconds since 1970-01-01 00:00:00 UTC.
        case millisecondsSince1970
        /// An RFC 3339 / ISO 8601 string such as `2024-05-01T12:30:00Z`, with or without fractional
        /// seconds, with `Z` or a `±HH:MM` offset. (Foundation's `.iso8601` refuses fractions.)
        case iso8601
        /// A closure that reads the date from the value's decoder.
        case custom(@Sendable (_ decoder: any Decoder) throws -> Date)
    }

    /// How `Data` is read.
    public enum DataDecodingStrategy: Sendable {
        /// A Base64 string (the default).
        case base64
        /// `Data`'s own `Decodable`: an array of byte values.
        case deferredToData
        /// A closure that reads the data from the value's decoder.
        case custom(@Sendable (_ decoder: any Decoder) throws -> Data)
    }

    /// How object keys in the input map to coding keys.
    public enum KeyDecodingStrategy: Sendable {
        /// Keys are used as they are (the default).
        case useDefaultKeys
        /// `snake_case` keys become `camelCase` before they are matched, with Foundation's rules:
        /// leading and trailing underscores stay, the first word is lowercased, the others
        /// capitalized (`user_id` → `userId`, `_a_b_` → `_aB_`); a key without `_` stays as it is.
        /// Keys of `[String: Value]` dictionaries are not converted (as in Foundation).
        case convertFromSnakeCase
    }
}

extension StrataJSONEncoder {
    /// How a `Date` is written. The names and the default follow Foundation's `JSONEncoder`.
    public enum DateEncodingStrategy: Sendable {
        /// `Date`'s own `Encodable`: seconds since 2001-01-01 00:00:00 UTC (the default).
        case deferredToDate
        /// Seconds since 1970-01-01 00:00:00 UTC.
        case secondsSince1970
        /// Milliseconds since 1970-01-01 00:00:00 UTC.
        case millisecondsSince1970
        /// An ISO 8601 string in UTC with whole seconds, `2024-05-01T12:30:00Z` (as Foundation's).
        case iso8601
        /// An ISO 8601 string in UTC with milliseconds, `2024-05-01T12:30:00.250Z`.
        case iso8601WithFractionalSeconds
        /// A closure that writes the date into the value's encoder.
        case custom(@Sendable (_ date: Date, _ encoder: any Encoder) throws -> Void)
    }

    /// How `Data` is written.
    public enum DataEncodingStrategy: Sendable {
        /// A Base64 string (the default).
        case base64
        /// `Data`'s own `Encodable`: an array of byte values.
        case deferredToData
        /// A closure that writes the data into the value's encoder.
        case custom(@Sendable (_ data: Data, _ encoder: any Encoder) throws -> Void)
    }

    /// How coding keys become object keys in the output.
    public enum KeyEncodingStrategy: Sendable {
        /// Keys are written as they are (the default).
        case useDefaultKeys
        /// `camelCase` keys are written as `snake_case` with Foundation's rules
        /// (`userID` → `user_id`, `myURLValue` → `my_url_value`). Keys of `[String: Value]`
        /// dictionaries are not converted (as in Foundation).
        case convertToSnakeCase
    }

    /// Options for the text written.
    public struct OutputFormatting: OptionSet, Sendable {
        public let rawValue: UInt
        public init(rawValue: UInt) { self.rawValue = rawValue }
        /// Object keys in ascending order (by Unicode scalar, as Foundation's `.sortedKeys`), so
        /// that equal values give equal bytes.
        public static let sortedKeys = OutputFormatting(rawValue: 1 << 1)
    }
}
