-- The e-mail batches of individual incidents, shared by every officer of a department: the sealed messages
-- file and the manifest of a batch are kept in personal_data (migration 0004) as the files themselves
-- (batches/<ID>/messages.sealed, batches/<ID>/manifest.json); its journal is kept here, one row per line of
-- journal.jsonl (a recipient key, a state, a Message-ID, a time, an error with every address replaced: no
-- name, no address), each row committed before the local line is written and, for a `sending` line, before
-- the message's SMTP transaction starts. A resume on any machine reads these rows: a recipient journaled as
-- sent is never sent again. Readable and writable with the incident; rows are appended or deleted (a batch
-- prepared again, a purge), never changed.

CREATE TABLE batch_journal (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident   text NOT NULL,
    -- one line of journal.jsonl, without its line break, exactly as the officer's machine wrote it
    line       text NOT NULL CHECK (line NOT LIKE E'%\n%'),
    written_by name NOT NULL DEFAULT current_user,
    written_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX batch_journal_by_incident ON batch_journal (incident, seq);
ALTER TABLE batch_journal ENABLE ROW LEVEL SECURITY;
ALTER TABLE batch_journal FORCE ROW LEVEL SECURITY;
CREATE POLICY batch_journal_with_its_incident ON batch_journal
    USING (EXISTS (SELECT 1 FROM incidents i WHERE i.id = batch_journal.incident))
    WITH CHECK (EXISTS (SELECT 1 FROM incidents i WHERE i.id = batch_journal.incident));
REVOKE ALL ON batch_journal FROM PUBLIC;

-- the members granted before this migration: what `incident db grant` now gives them (MEMBER_GRANTS)
DO $$
DECLARE member name;
BEGIN
    FOR member IN SELECT role FROM incident_members LOOP
        EXECUTE format('GRANT SELECT, INSERT, DELETE ON batch_journal TO %I', member);
    END LOOP;
END
$$;
