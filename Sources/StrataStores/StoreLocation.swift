import Strata

/// Where a store lives, parsed from a store URL by a ``StoreRegistry``: the backend, and the
/// address the backend needs (a directory, a database file, a server URL).
///
/// ```swift
/// let location = try StoreRegistry.standard().parse("sqlite:./events.db")
/// location.backend == .sqlite        // true
/// location.address                    // "./events.db"
/// ```
public struct StoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// A backend's name. Backends are open-ended (a registry can register more), so this is a
    /// string-backed struct; `switch location.backend { case .file: … }` still reads well.
    public struct Backend: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The name (`file`, `sqlite`, …).
        public let rawValue: String
        /// A backend named `rawValue` (a registered ``StoreScheme`` defines what it opens).
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The name.
        public var description: String { rawValue }

        /// The embedded log engine in a directory: `file:PATH`.
        public static let file = Backend(rawValue: "file")
        /// One SQLite database file: `sqlite:PATH`.
        public static let sqlite = Backend(rawValue: "sqlite")
        /// A fresh in-memory store: `memory:`.
        public static let memory = Backend(rawValue: "memory")
        /// A PostgreSQL schema: `postgres://…`.
        public static let postgres = Backend(rawValue: "postgres")
        /// A NATS JetStream stream: `nats://…/STORE`.
        public static let nats = Backend(rawValue: "nats")
        /// A Strata server: `http(s)://host:port`.
        public static let http = Backend(rawValue: "http")
    }

    /// The backend.
    public let backend: Backend
    /// What the backend opens: a path (file, sqlite), the URL as given (postgres, http, nats),
    /// or empty (memory).
    public let address: String
    /// The location as a store URL, with any password left out (for messages and logs).
    public let displayText: String
    /// Settings given in the URL's query (`file:PATH?durability=none`), checked by the parser.
    public let options: [String: String]

    /// Creates a location (a ``StoreScheme``'s parser does this).
    public init(backend: Backend, address: String, displayText: String, options: [String: String] = [:]) {
        self.backend = backend
        self.address = address
        self.displayText = displayText
        self.options = options
    }

    /// ``displayText``.
    public var description: String { displayText }

    /// The path of a store kept in the local file system (`file:` and `sqlite:`), else nil.
    public var path: String? { backend == .file || backend == .sqlite ? address : nil }
}

/// How a command or server uses a store.
public enum StoreAccess: Sendable, Hashable {
    /// Create the store when it does not exist.
    case create
    /// The store must already exist: opening a missing local store fails with
    /// ``StoreNotFound`` instead of creating an empty one (a typo must not create a store).
    case existing
    /// As ``existing``, for reading only: a log directory is opened read-only
    /// (``StrataLog/LogConfiguration/readOnly``: no lock taken, no file written, so readers never
    /// wait for writers nor need write permission); other backends open as ``existing``.
    case readOnly
}

/// ``StoreRegistry/open(_:access:)`` with ``StoreAccess/existing`` found no store at a local path.
public struct StoreNotFound: Error, Sendable, CustomStringConvertible {
    /// The location.
    public let location: StoreLocation
    /// "no store at PATH".
    public var description: String { "no store at \(location.path ?? location.displayText)" }
}
