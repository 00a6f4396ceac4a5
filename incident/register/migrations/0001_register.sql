-- The shared register: incidents, id counters, the audit chain (insert-only) and its signed head.

CREATE TABLE incidents (
    id            text PRIMARY KEY CHECK (id ~ '^[0-9]{4}-[0-9]{4,}$'),
    -- the record as TOML, byte for byte what the file store writes (its SHA-256 is what the audit names)
    content       text NOT NULL,
    sha256        text NOT NULL,
    -- the validated record as JSON (dates tagged), for listing without parsing TOML again
    cached        text NOT NULL,
    -- the same record, for queries and reports in SQL
    data          jsonb NOT NULL,
    status        text NOT NULL,
    department    text NOT NULL DEFAULT '',
    discovered_at timestamptz NOT NULL,
    created_at    timestamptz,
    updated_at    timestamptz
);
CREATE INDEX incidents_by_discovery ON incidents (discovered_at DESC, id DESC);
CREATE INDEX incidents_by_status ON incidents (status);
CREATE INDEX incidents_by_department ON incidents (department);

-- the last number issued per year; taken under a row lock, never reused
CREATE TABLE id_counters (
    year integer PRIMARY KEY,
    last integer NOT NULL CHECK (last >= 0)
);

-- one row per audit entry, the line exactly as the file store's audit.log holds it (same hash chain)
CREATE TABLE audit_log (
    seq        bigint PRIMARY KEY CHECK (seq > 0),
    line       text NOT NULL,
    hash       text NOT NULL UNIQUE,
    incident   text,
    actor      text NOT NULL,
    action     text NOT NULL,
    -- the authenticated database role that wrote the entry
    db_role    name NOT NULL DEFAULT current_user,
    written_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_by_incident ON audit_log (incident, seq);

-- the last entry's sequence number and hash, signed under the audit key (exposes entries cut off the end)
CREATE TABLE audit_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL,
    hash text NOT NULL,
    mac  text NOT NULL DEFAULT ''
);
INSERT INTO audit_head (seq, hash) VALUES (0, repeat('0', 64));

CREATE FUNCTION incident_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is insert-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_insert_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION incident_audit_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION incident_audit_refuse();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
