-- Entries copied from another register's log by `incident db import` are written, like every entry, in the
-- importer's role, and carry their author as the source recorded them in an "imported" mark (the source
-- entry's sequence number and hash, its author's role where the source had one); the double checks compare
-- the mark's author (incident.register.actors.author_of). So that no live entry can pass for an imported
-- one and name another author, the database accepts the mark only in the transaction of an import: after a
-- `db-import` entry written in that same transaction, which it accepts only on a register that has never
-- held an incident (every id counter at 0); an earlier import's own entry, copied with the rest of a log,
-- is an imported entry like the others. The columns beside the line (action, incident, actor) are
-- taken from the line itself, so that they cannot say something else than the entry the chain covers.

CREATE INDEX audit_log_imports ON audit_log (seq) WHERE action = 'db-import';

CREATE OR REPLACE FUNCTION incident_audit_author() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entry jsonb := NEW.line::jsonb;
BEGIN
    IF (entry ->> 'role') IS DISTINCT FROM current_user::text THEN
        RAISE EXCEPTION 'an audit entry must name its author''s role %', current_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.action := coalesce(entry ->> 'action', NEW.action);
    NEW.incident := entry ->> 'incident';
    NEW.actor := coalesce(entry ->> 'actor', NEW.actor);
    NEW.db_role := current_user;
    NEW.written_at := now();
    IF NEW.action = 'db-import' AND NOT entry ? 'imported' AND EXISTS (SELECT 1 FROM id_counters WHERE last > 0) THEN
        RAISE EXCEPTION 'an import goes only into a register that has never held an incident'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF entry ? 'imported' AND NOT EXISTS (
            SELECT 1 FROM audit_log
            WHERE seq = (SELECT max(seq) FROM audit_log WHERE action = 'db-import')
              AND xmin = pg_current_xact_id()::xid AND written_at = now()) THEN
        RAISE EXCEPTION 'an audit entry marked imported is written only by an import (incident db import), in its own transaction'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO audit_links (seq, hash, prev) VALUES (NEW.seq, NEW.hash, entry ->> 'prev');
    RETURN NEW;
END
$$;
