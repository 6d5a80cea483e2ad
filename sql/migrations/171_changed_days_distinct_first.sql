-- The change-log triggers (migration 110) name the table once per distinct day, not once per row
-- before de-duplicating: a million-row load spends its trigger time reading the rows once.
CREATE OR REPLACE FUNCTION marts.log_new_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO marts.changed_days (tbl, day)
    SELECT TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, d FROM (SELECT DISTINCT partition_date FROM new_rows) AS n (d);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION marts.log_old_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO marts.changed_days (tbl, day)
    SELECT TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, d FROM (SELECT DISTINCT partition_date FROM old_rows) AS o (d);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION marts.log_both_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO marts.changed_days (tbl, day)
    SELECT TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, d
    FROM (SELECT partition_date FROM new_rows UNION SELECT partition_date FROM old_rows) AS b (d);
    RETURN NULL;
END $$;
