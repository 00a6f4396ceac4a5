-- Who may see what: row-level security by department, the central desk sees all, and the audit log names
-- the authenticated database role of every entry.
--
-- A person connects as their own database role. `incident db grant ROLE --department X` (or `--central`),
-- run by the owner of these tables, records the role here and grants it the table privileges it needs;
-- nobody else is granted anything. The policies are FORCEd, so the owner that runs the migrations is held
-- to them as well (only a superuser, who can do anything anyway, bypasses them).

CREATE TABLE incident_members (
    role       name PRIMARY KEY,
    -- the department (所管課) whose incidents the role sees and changes; '' for the central desk
    department text NOT NULL DEFAULT '',
    -- the central privacy desk: sees and changes every incident
    central    boolean NOT NULL DEFAULT false,
    granted_by name NOT NULL DEFAULT current_user,
    granted_at timestamptz NOT NULL DEFAULT now(),
    CHECK (central OR department <> '')
);
-- a role reads only its own membership (the owner, not FORCEd here, manages them all)
ALTER TABLE incident_members ENABLE ROW LEVEL SECURITY;
CREATE POLICY members_own_row ON incident_members FOR SELECT USING (role = current_user);

-- Policies name the tables directly (bound when created), never through a function looked up at run time.
ALTER TABLE incidents ENABLE ROW LEVEL SECURITY;
ALTER TABLE incidents FORCE ROW LEVEL SECURITY;
CREATE POLICY incidents_by_department ON incidents
    USING (EXISTS (SELECT 1 FROM incident_members m
                   WHERE m.role = current_user AND (m.central OR m.department = incidents.department)))
    WITH CHECK (EXISTS (SELECT 1 FROM incident_members m
                        WHERE m.role = current_user AND (m.central OR m.department = incidents.department)));

-- the audit log: a member appends entries as itself; reads the entries of the incidents it sees and the
-- register-wide ones (the central desk reads every entry)
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT
    USING (incident IS NULL OR EXISTS (SELECT 1 FROM incidents i WHERE i.id = audit_log.incident));
CREATE POLICY audit_log_append ON audit_log FOR INSERT
    WITH CHECK (EXISTS (SELECT 1 FROM incident_members m WHERE m.role = current_user));

-- The links of the chain (sequence, hash, previous hash) of every entry, readable by every member: a
-- department checks that the whole chain is unbroken and the content of the entries it may read.
CREATE TABLE audit_links (
    seq  bigint PRIMARY KEY CHECK (seq > 0),
    hash text NOT NULL UNIQUE,
    prev text NOT NULL
);
INSERT INTO audit_links (seq, hash, prev) SELECT seq, hash, line::jsonb ->> 'prev' FROM audit_log;
CREATE TRIGGER audit_links_insert_only BEFORE UPDATE OR DELETE ON audit_links
    FOR EACH ROW EXECUTE FUNCTION incident_audit_refuse();
CREATE TRIGGER audit_links_no_truncate BEFORE TRUNCATE ON audit_links
    FOR EACH STATEMENT EXECUTE FUNCTION incident_audit_refuse();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_links FROM PUBLIC;

-- Every new entry names its author's authenticated role ("role" in the line, under the chain's key) and
-- the database checks it: nobody appends an entry in another role's name.
CREATE FUNCTION incident_audit_author() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.line::jsonb ->> 'role') IS DISTINCT FROM current_user::text THEN
        RAISE EXCEPTION 'an audit entry must name its author''s role %', current_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.db_role := current_user;
    INSERT INTO audit_links (seq, hash, prev) VALUES (NEW.seq, NEW.hash, NEW.line::jsonb ->> 'prev');
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_author BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION incident_audit_author();

-- the register's own identity: its audit key is named after it (not after a host name, user or path,
-- which differ between officers and change when the server moves)
CREATE TABLE register_identity (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    id  uuid NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO register_identity DEFAULT VALUES;

REVOKE ALL ON register_identity, incidents, id_counters, audit_log, audit_head, audit_links, incident_members FROM PUBLIC;
