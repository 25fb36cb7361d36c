/// The SQL of every statement the store runs, built once for its schema.
struct SchemaStatements: Sendable {
    let schema: PostgresSchema

    // MARK: - Appends (docs/POSTGRES.md, "The append transaction")

    /// Step 1: creates missing rows for the batch's streams and locks every one of them
    /// (`ON CONFLICT DO UPDATE` locks an existing row, waiting for a writer that holds it, and
    /// returns its latest committed state), and reads, in the same statement, where the batch's
    /// event ids are stored and the head position (a guess: other processes may move it).
    /// `inserted` (xmax = 0) marks rows this statement created, removed again if their stream
    /// gets no event. Row kinds: 0 stream, 1 stored event id, 2 head.
    let lockStreams: String
    /// Takes the counter lock early, for batches with a condition: the condition must be asked
    /// while no other append can commit.
    let lockHead: String
    /// Step 2, the last before COMMIT: takes the counter (row lock held until COMMIT), inserts
    /// the events at the positions it gives, records the written streams' last revisions (their
    /// rows are locked since step 1, so this waits for nothing), removes the rows step 1
    /// created for streams that got no event, and queues the notification. One statement: one
    /// round trip while the counter is held.
    let insertEvents: String

    // MARK: - Reads

    /// `$all` forward: events from `$1` to `min(head, $2)`, at most `$3`, filtered by types
    /// `$4` and stream prefixes `$5` (empty arrays: no constraint), with the head in every row
    /// (one statement, one snapshot).
    let readAllForward: String
    /// `$all` backward: events from `min(head, $1)` down, over at most `$2` positions.
    let readAllBackward: String
    /// A stream's row, with the database clock (microseconds) that `maxAge` is measured against.
    let streamRow: String
    /// A stream's events with revisions in `$2...$3`, recorded at or after `$4`, at most `$5`.
    let readStreamForward: String
    let readStreamBackward: String
    /// How many of a stream's events in `$2...$3` were recorded at or after `$4`.
    let countStreamEvents: String
    let listStreams: String
    let listStreamsAfter: String
    let head: String
    let stats: String

    // MARK: - Stream changes

    /// Creates (or locks) a stream's row for a delete, returning its state.
    let lockStream: String
    let softDelete: String
    let tombstone: String
    /// Sets metadata unless the stream is tombstoned (then no row comes back).
    let setMetadata: String

    init(schema: PostgresSchema) {
        self.schema = schema
        let streams = schema.table("streams"), events = schema.table("events"), head = schema.table("head")
        let now = "(extract(epoch FROM statement_timestamp()) * 1000000)::bigint"
        let filter = """
            (cardinality($4::text[]) = 0 OR e.type = ANY($4::text[]))
            AND (cardinality($5::text[]) = 0 OR EXISTS (SELECT 1 FROM unnest($5::text[]) AS p(prefix) WHERE starts_with(e.stream, p.prefix)))
            """

        lockStreams = """
            WITH locked AS (
                INSERT INTO \(streams) AS s (name)
                SELECT n FROM unnest($1::text[]) AS u(n) ORDER BY n
                ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
                RETURNING s.name, s.last_revision, s.deleted_through, s.tombstoned, (s.xmax = 0) AS inserted)
            SELECT 0, name, last_revision, deleted_through, tombstoned, inserted, NULL::uuid, NULL::bigint FROM locked
            UNION ALL
            SELECT 1, e.stream, e.revision, 0, false, false, e.id, e.position FROM \(events) e WHERE e.id = ANY($2::uuid[])
            UNION ALL
            SELECT 2, NULL, position, 0, false, false, NULL, NULL FROM \(head)
            """
        lockHead = "SELECT position FROM \(head) FOR UPDATE"
        insertEvents = """
            WITH counter AS (
                UPDATE \(head) SET position = position + $1
                RETURNING position - $1 AS base, \(now) AS now),
            inserted AS (
                INSERT INTO \(events) (position, id, stream, revision, recorded_at, type, content_type, data, metadata, tags)
                SELECT counter.base + b.ordinal, b.id, b.stream, b.revision, counter.now, b.type, b.content_type, b.data,
                       CASE WHEN b.has_metadata THEN b.metadata END,
                       (SELECT array_agg(t.tag) FROM unnest($10::bigint[], $11::text[]) AS t(ordinal, tag) WHERE t.ordinal = b.ordinal)
                FROM counter, unnest($2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bytea[], $8::bytea[], $9::boolean[])
                    WITH ORDINALITY AS b(id, stream, revision, type, content_type, data, metadata, has_metadata, ordinal)),
            written AS (
                UPDATE \(streams) AS s SET last_revision = w.revision
                FROM unnest($13::text[], $14::bigint[]) AS w(name, revision) WHERE s.name = w.name),
            unused AS (
                DELETE FROM \(streams) WHERE name = ANY($15::text[]))
            SELECT base, now, pg_notify($12, (base + $1)::text) FROM counter
            """

        readAllForward = """
            WITH h AS (SELECT position AS head FROM \(head))
            SELECT \(EventRow.columns), h.head FROM h LEFT JOIN LATERAL (
                SELECT * FROM \(events) e
                WHERE e.position >= $1 AND e.position <= LEAST(h.head, $2) AND \(filter)
                ORDER BY e.position LIMIT $3) e ON true
            """
        readAllBackward = """
            WITH h AS (SELECT position AS head FROM \(head))
            SELECT \(EventRow.columns), h.head FROM h LEFT JOIN LATERAL (
                SELECT * FROM \(events) e
                WHERE e.position <= LEAST(h.head, $1) AND e.position > LEAST(h.head, $1) - $2 AND \(filter)
                ORDER BY e.position DESC LIMIT $3) e ON true
            """
        streamRow = "SELECT \(StreamRow.columns), (extract(epoch FROM clock_timestamp()) * 1000000)::bigint FROM \(streams) WHERE name = $1"
        let streamRange = "e.stream = $1 AND e.revision BETWEEN $2 AND $3 AND e.recorded_at >= $4"
        readStreamForward = "SELECT \(EventRow.columns) FROM \(events) e WHERE \(streamRange) ORDER BY e.revision LIMIT $5"
        readStreamBackward = "SELECT \(EventRow.columns) FROM \(events) e WHERE \(streamRange) ORDER BY e.revision DESC LIMIT $5"
        countStreamEvents = "SELECT count(*) FROM \(events) e WHERE \(streamRange)"
        let existing = "NOT tombstoned AND last_revision > deleted_through"
        listStreams = "SELECT name FROM \(streams) WHERE name LIKE $1 AND \(existing) ORDER BY name LIMIT $2"
        listStreamsAfter = "SELECT name FROM \(streams) WHERE name LIKE $1 AND name > $3 AND \(existing) ORDER BY name LIMIT $2"
        self.head = "SELECT position FROM \(head)"
        stats = """
            SELECT (SELECT position FROM \(head)), (SELECT count(*) FROM \(streams)),
                   (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_catalog.pg_class c
                    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'),
                   current_setting('server_version')
            """

        lockStream = """
            INSERT INTO \(streams) AS s (name) VALUES ($1)
            ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
            RETURNING s.last_revision, s.deleted_through, s.tombstoned, s.max_count, s.max_age, s.truncate_before, s.custom_metadata
            """
        softDelete = "UPDATE \(streams) SET deleted_through = last_revision WHERE name = $1"
        tombstone = "UPDATE \(streams) SET tombstoned = true WHERE name = $1"
        setMetadata = """
            INSERT INTO \(streams) AS s (name, max_count, max_age, truncate_before, custom_metadata) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (name) DO UPDATE SET max_count = EXCLUDED.max_count, max_age = EXCLUDED.max_age,
                truncate_before = EXCLUDED.truncate_before, custom_metadata = EXCLUDED.custom_metadata
            WHERE NOT s.tombstoned
            RETURNING 1
            """
    }
}
