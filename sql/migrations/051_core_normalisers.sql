-- Faster normalisers (same results): plpgsql with one pass over the text instead of a CTE per call.
CREATE OR REPLACE FUNCTION core.e164(raw text, default_cc text DEFAULT '1') RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    t text := btrim(raw);
    d text;
BEGIN
    IF t IS NULL OR t = '' THEN
        RETURN NULL;
    END IF;
    d := translate(t, ' ()-./', '');
    IF d !~ '^\+?[0-9]+$' THEN
        d := regexp_replace(t, '[^0-9+]', '', 'g');
    END IF;
    IF left(d, 1) = '+' THEN
        d := substr(d, 2);
        RETURN CASE WHEN length(d) BETWEEN 8 AND 15 AND d !~ '[^0-9]' THEN '+' || d END;
    END IF;
    IF d ~ '[^0-9]' THEN RETURN NULL; END IF;
    IF left(d, 2) = '00' AND length(d) BETWEEN 10 AND 17 THEN RETURN '+' || substr(d, 3); END IF;
    IF length(d) = 10 THEN RETURN '+' || default_cc || d; END IF;
    IF length(d) = 10 + length(default_cc) AND left(d, length(default_cc)) = default_cc THEN RETURN '+' || d; END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION core.norm_email(raw text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE e text := lower(btrim(raw));
BEGIN
    RETURN CASE WHEN e LIKE '_%@_%._%' AND e NOT LIKE '%@%@%' AND position(' ' IN e) = 0 THEN e END;
END
$$;
