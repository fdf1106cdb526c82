-- schema.sql — trace-collector's SQLite store (compiled into the collector).
--
-- Built for ingest speed: integer keys everywhere, the repeated strings of
-- an event (agent, event type) interned into small lookup tables, and only
-- the indexes the queries use. The REST API still speaks in string ids:
-- traces.name, agents.name and event_types.name are what clients see.
-- Timestamps are integer microseconds since the Unix epoch (UTC).
-- Foreign keys are documented but not enforced: the collector is the only
-- writer and deletes dependent rows itself, and enforcement costs ingest.
-- Every statement is idempotent, so opening an existing database is safe.

CREATE TABLE IF NOT EXISTS traces (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,            -- the trace id clients use
    session_id TEXT NOT NULL,
    start_time INTEGER NOT NULL,          -- first event
    end_time INTEGER,                     -- set when the trace ends
    last_time INTEGER NOT NULL,           -- latest event seen
    status TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'completed', 'error')),
    agent_count INTEGER NOT NULL DEFAULT 0,
    event_count INTEGER NOT NULL DEFAULT 0, -- rows in events
    error_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL DEFAULT (unixepoch() * 1000000)
) STRICT;
CREATE INDEX IF NOT EXISTS idx_traces_session ON traces(session_id);
CREATE INDEX IF NOT EXISTS idx_traces_time ON traces(start_time);
CREATE INDEX IF NOT EXISTS idx_traces_status ON traces(status);

-- One row per agent per trace: agent ids are small and trace-local.
CREATE TABLE IF NOT EXISTS agents (
    id INTEGER PRIMARY KEY,
    trace_id INTEGER NOT NULL,            -- traces.id
    name TEXT NOT NULL,
    type TEXT,                            -- from agent.created
    event_count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (trace_id, name)
) STRICT;

CREATE TABLE IF NOT EXISTS event_types (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
) STRICT;

-- events.id is the collector-wide sequence number: it increases in commit
-- order, which is what WebSocket catch-up (?since=) relies on.
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    trace_id INTEGER NOT NULL,            -- traces.id
    ts INTEGER NOT NULL,
    agent_id INTEGER NOT NULL,            -- agents.id
    type_id INTEGER NOT NULL,             -- event_types.id
    level INTEGER NOT NULL,               -- 0 debug, 1 info, 2 warn, 3 error
    kind INTEGER NOT NULL,                -- 0 event, 1 span begin, 2 span end
    span_id INTEGER,                      -- 64-bit span id (bits as signed)
    parent_id INTEGER,                    -- enclosing span's span_id
    duration_us INTEGER,
    count INTEGER,                        -- merged repeats; NULL means 1
    message TEXT,
    metadata TEXT,                        -- JSON
    stack_trace TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS idx_events_trace_time ON events(trace_id, ts);
-- An agent's events: agent ids are trace-local, and rowids follow commit
-- order, close to time order. Without ts in the key the entry is 12 bytes,
-- not 22 (10 bytes an event on disk); the few queries that order one
-- agent's events by time sort that agent's rows. (Replaces the older
-- (agent_id, ts) index in databases made before it.)
DROP INDEX IF EXISTS idx_events_agent_time;
CREATE INDEX IF NOT EXISTS idx_events_agent ON events(agent_id);
CREATE INDEX IF NOT EXISTS idx_events_errors ON events(trace_id, ts)
    WHERE level >= 2;
CREATE INDEX IF NOT EXISTS idx_events_parent ON events(parent_id)
    WHERE parent_id IS NOT NULL;

-- State for time-travel, LZ4-compressed; checksum is FNV-1a 64 of the
-- uncompressed JSON, checked on the way in and on the way out.
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY,
    trace_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    agent_id INTEGER NOT NULL,
    state_type TEXT NOT NULL,             -- agent_state, memory_state, task_state
    state_data BLOB NOT NULL,
    raw_size INTEGER NOT NULL,
    checksum INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL           -- stored (compressed) bytes
) STRICT;
CREATE INDEX IF NOT EXISTS idx_snapshots_trace_time ON snapshots(trace_id, ts);
CREATE INDEX IF NOT EXISTS idx_snapshots_agent_time ON snapshots(agent_id, ts);

-- Each libtrace process that sent batches: loss is visible here, never
-- silent. seq_gaps counts batches that never arrived; dropped_reported
-- the events the producer itself counted as lost (the batch headers'
-- counts, raised to the totals in its reports when a batch that carried
-- some was lost on the way); lost_in_transit the
-- events of batches that left the producer but never arrived (a collector
-- killed or stopped with batches in its buffers): libtrace's periodic and
-- final system.overhead report says how many events it had sent, and
-- received says how many of them came. A database from before these two
-- columns gets them at start-up (db.c).
CREATE TABLE IF NOT EXISTS producers (
    id INTEGER PRIMARY KEY,               -- producer id (bits as signed)
    trace_id INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    batches INTEGER NOT NULL DEFAULT 0,
    events INTEGER NOT NULL DEFAULT 0,    -- stored, merged repeats counted
    dropped_reported INTEGER NOT NULL DEFAULT 0,
    seq_gaps INTEGER NOT NULL DEFAULT 0,
    finished INTEGER NOT NULL DEFAULT 0,
    received INTEGER NOT NULL DEFAULT 0,  -- events that arrived, libtrace's own reports not counted
    lost_in_transit INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX IF NOT EXISTS idx_producers_trace ON producers(trace_id);

CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    metric_type TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT,
    metadata TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS idx_metrics_type_time ON metrics(metric_type, ts);

CREATE VIEW IF NOT EXISTS active_traces AS
SELECT t.*,
       (SELECT count(*) FROM events e
         WHERE e.trace_id = t.id
           AND e.ts > (unixepoch() - 300) * 1000000) AS live_event_count
  FROM traces t
 WHERE t.status = 'active';

CREATE VIEW IF NOT EXISTS recent_events AS
SELECT e.*, t.name AS trace_name, t.session_id
  FROM events e JOIN traces t ON e.trace_id = t.id
 WHERE e.ts > (unixepoch() - 3600) * 1000000;
