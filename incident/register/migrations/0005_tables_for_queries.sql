-- The parts of each incident as tables for SQL queries and reports: the timeline, the assessments, the
-- obligations and whether each is done, the corrective actions, the notices and the review answers.
--
-- Each is a view over the validated record (incidents.data), never a second copy of it: the record stays
-- the one thing written, under its audit entry, so the two cannot disagree. The views run with the
-- privileges of whoever queries them (security_invoker), so the row-level security of `incidents` holds:
-- a department sees the rows of its own incidents only, the central desk all of them.

CREATE VIEW incident_timeline WITH (security_invoker = true) AS
SELECT i.id AS incident, i.department, e.ord AS seq, (e.value ->> 'at')::timestamptz AS at,
       e.value ->> 'actor' AS actor, e.value ->> 'text' AS text
FROM incidents i
CROSS JOIN LATERAL jsonb_array_elements(COALESCE(i.data -> 'timeline', '[]'::jsonb)) WITH ORDINALITY AS e(value, ord);

CREATE VIEW incident_assessments WITH (security_invoker = true) AS
SELECT i.id AS incident, i.department, (i.data -> 'assessment' ->> 'assessed_at')::timestamptz AS assessed_at,
       a.value ->> 'regime' AS regime, a.value ->> 'version' AS version,
       (a.value ->> 'effective_from')::date AS effective_from, (a.value ->> 'reportable')::boolean AS reportable
FROM incidents i
CROSS JOIN LATERAL jsonb_array_elements(COALESCE(i.data -> 'assessment' -> 'assessments', '[]'::jsonb)) AS a(value);

-- an obligation of the saved assessment, with its done mark from the record's `obligations` section
CREATE VIEW incident_obligations WITH (security_invoker = true) AS
SELECT i.id AS incident, i.department, a.value ->> 'regime' AS regime, o.value ->> 'id' AS obligation,
       o.value ->> 'label' AS label, o.value ->> 'recipient' AS recipient, o.value ->> 'due' AS due,
       (o.value ->> 'soft')::boolean AS soft,
       (i.data -> 'obligations' -> (a.value ->> 'regime') -> (o.value ->> 'id') ->> 'done_at')::timestamptz AS done_at,
       i.data -> 'obligations' -> (a.value ->> 'regime') -> (o.value ->> 'id') ->> 'ref' AS ref
FROM incidents i
CROSS JOIN LATERAL jsonb_array_elements(COALESCE(i.data -> 'assessment' -> 'assessments', '[]'::jsonb)) AS a(value)
CROSS JOIN LATERAL jsonb_array_elements(COALESCE(a.value -> 'obligations', '[]'::jsonb)) AS o(value);

CREATE VIEW incident_actions WITH (security_invoker = true) AS
SELECT i.id AS incident, i.department, c.value ->> 'id' AS action, c.value ->> 'measure' AS measure,
       c.value ->> 'cause' AS cause, c.value ->> 'owner' AS owner, (c.value ->> 'due')::date AS due,
       c.value ->> 'state' AS state, (c.value ->> 'done_at')::timestamptz AS done_at, c.value ->> 'done_by' AS done_by,
       (c.value ->> 'verified_at')::timestamptz AS verified_at, c.value ->> 'verified_by' AS verified_by,
       c.value ->> 'source' AS source
FROM incidents i
CROSS JOIN LATERAL jsonb_array_elements(COALESCE(i.data -> 'actions', '[]'::jsonb)) AS c(value);

CREATE VIEW incident_notices WITH (security_invoker = true) AS
SELECT i.id AS incident, i.department, n.ord AS seq, n.value ->> 'kind' AS kind, n.value ->> 'lang' AS lang,
       n.value ->> 'format' AS format, (n.value ->> 'at')::timestamptz AS at, n.value ->> 'actor' AS actor,
       (n.value ->> 'count')::integer AS count, n.value ->> 'path' AS path, n.value ->> 'state' AS state,
       (n.value ->> 'mailed_at')::timestamptz AS mailed_at
FROM incidents i
CROSS JOIN LATERAL jsonb_array_elements(COALESCE(i.data -> 'notices', '[]'::jsonb)) WITH ORDINALITY AS n(value, ord);

CREATE VIEW incident_review_answers WITH (security_invoker = true) AS
SELECT i.id AS incident, i.department, r.key AS item, r.value ->> 'answer' AS answer,
       (r.value ->> 'at')::timestamptz AS at, r.value ->> 'actor' AS actor, r.value ->> 'note' AS note
FROM incidents i
CROSS JOIN LATERAL jsonb_each(COALESCE(i.data -> 'review' -> 'answers', '{}'::jsonb)) AS r(key, value);

REVOKE ALL ON incident_timeline, incident_assessments, incident_obligations, incident_actions, incident_notices,
    incident_review_answers FROM PUBLIC;

-- the members granted before this migration: what `incident db grant` now gives (the views, and the
-- personal_data table of the previous migration, which it did not grant to existing members)
DO $$
DECLARE member name;
BEGIN
    FOR member IN SELECT role FROM incident_members LOOP
        EXECUTE format('GRANT SELECT ON incident_timeline, incident_assessments, incident_obligations, '
                       'incident_actions, incident_notices, incident_review_answers TO %I', member);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON personal_data TO %I', member);
    END LOOP;
END
$$;
