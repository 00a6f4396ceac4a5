-- The id counter follows every incident inserted, whatever its number (an imported incident keeps its
-- own): `create` takes the next number from the counter alone, under its row lock, without scanning the
-- incidents (which row-level security would narrow to one department's anyway).

CREATE FUNCTION incident_counter_follows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO id_counters (year, last)
    VALUES (split_part(NEW.id, '-', 1)::integer, split_part(NEW.id, '-', 2)::integer)
    ON CONFLICT (year) DO UPDATE SET last = greatest(id_counters.last, excluded.last);
    RETURN NEW;
END
$$;
CREATE TRIGGER incidents_counter AFTER INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION incident_counter_follows();

INSERT INTO id_counters (year, last)
SELECT split_part(id, '-', 1)::integer, max(split_part(id, '-', 2)::integer) FROM incidents GROUP BY 1
ON CONFLICT (year) DO UPDATE SET last = greatest(id_counters.last, excluded.last);
