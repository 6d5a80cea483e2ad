-- A full rebuild fills its large tables without their keys and indexes and builds them once
-- afterwards. These two functions do that from the catalogue, so each key and index is defined
-- once, in its migration, and a rebuild puts back exactly what the migrations made.
-- set_aside_indexes(t) notes the table's keys and indexes in a temporary table (gone at commit) and
-- drops them; restore_indexes(t) builds again what was set aside, keys first (nothing, if nothing was).
CREATE FUNCTION marts.set_aside_indexes(t regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    EXECUTE 'CREATE TEMP TABLE IF NOT EXISTS marts_set_aside (t regclass, step int, ddl text) ON COMMIT DROP';
    FOR r IN
        SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE conrelid = t AND contype IN ('p', 'u')
    LOOP
        EXECUTE 'INSERT INTO marts_set_aside VALUES ($1, 1, $2)'
            USING t, format('ALTER TABLE %s ADD CONSTRAINT %I %s', t, r.conname, r.def);
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', t, r.conname);
    END LOOP;
    FOR r IN
        SELECT indexrelid::regclass AS idx, pg_get_indexdef(indexrelid) AS def FROM pg_index
        WHERE indrelid = t
    LOOP
        EXECUTE 'INSERT INTO marts_set_aside VALUES ($1, 2, $2)' USING t, r.def;
        EXECUTE format('DROP INDEX %s', r.idx);
    END LOOP;
END $$;

CREATE FUNCTION marts.restore_indexes(t regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    IF to_regclass('pg_temp.marts_set_aside') IS NULL THEN  -- nothing was set aside in this transaction
        RETURN;
    END IF;
    FOR d IN EXECUTE 'SELECT ddl FROM marts_set_aside WHERE t = $1 ORDER BY step' USING t LOOP
        EXECUTE d;
    END LOOP;
    EXECUTE 'DELETE FROM marts_set_aside WHERE t = $1' USING t;
END $$;
