-- The personal data of individual incidents (the sealed roster files), kept in the database so that every
-- officer of a department reaches the same roster: each file exactly as sealed (AES-256-GCM) on the
-- officer's machine, never a plaintext name or address. Readable and writable with the incident.

CREATE TABLE personal_data (
    -- the file's path in a store directory, e.g. rosters/2024-0001.roster
    name       text PRIMARY KEY,
    incident   text NOT NULL,
    blob       bytea NOT NULL,
    sha256     text NOT NULL,
    written_by name NOT NULL DEFAULT current_user,
    written_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX personal_data_by_incident ON personal_data (incident);
ALTER TABLE personal_data ENABLE ROW LEVEL SECURITY;
ALTER TABLE personal_data FORCE ROW LEVEL SECURITY;
CREATE POLICY personal_data_with_its_incident ON personal_data
    USING (EXISTS (SELECT 1 FROM incidents i WHERE i.id = personal_data.incident))
    WITH CHECK (EXISTS (SELECT 1 FROM incidents i WHERE i.id = personal_data.incident));
REVOKE ALL ON personal_data FROM PUBLIC;
