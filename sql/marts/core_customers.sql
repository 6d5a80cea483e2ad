-- core.customers: one stable id per person across TikTok Shop, the website, Klaviyo and Customer.io.
--
-- Match rule, in order of precedence:
--   1. normalized email (lower(trim)), the strongest key: two different emails are never merged;
--   2. phone in E.164 (core.e164, default country from MARTS_DEFAULT_COUNTRY_CODE): links a record
--      without an email to the customer that phone already belongs to;
--   3. the platform's own id (TikTok user, website customer, Klaviyo profile, Customer.io person):
--      links a record with neither email nor a known phone.
-- A new email on a record whose phone or platform id belongs to a customer that has no email yet
-- joins that customer (a TikTok buyer first seen without email keeps one id once the email appears).
--
-- Stability: core.customer_keys is only ever appended to. A key, once mapped, keeps its customer;
-- a new customer's id is 'cus_' + the first 16 hex digits of md5('<key type>:<key value>') of the
-- highest-precedence key that created it, so a rebuild from scratch gives the same ids too.

SELECT marts.stage_view('stg_identities');  -- every source's staged records as one (migration 251)

-- Keys are matched on each distinct combination a person's records carry, at its earliest instant:
-- every rule below takes the earliest record, so this gives the same keys from about a quarter of
-- the rows (a customer's orders repeat the same email, phone and platform id).
CREATE TEMP TABLE stg_keys ON COMMIT DROP AS
SELECT email, phone, platform_type, platform_id, min(seen_at) AS seen_at
FROM stg_identities
GROUP BY email, phone, platform_type, platform_id;
ANALYZE stg_keys;

-- A full rebuild adds most keys at once: fresh statistics after each step keep the next plan right
-- (a refresh adds a handful, where sampling the whole map would cost more than the step).
-- The first build fills an empty map: without its key and index (the steps below join by hash and
-- add each key once), built once after step 3, several times faster than row by row.
DO $$
BEGIN
    IF NOT current_setting('marts.incremental')::boolean AND NOT EXISTS (SELECT 1 FROM core.customer_keys) THEN
        PERFORM marts.set_aside_indexes('core.customer_keys');
    END IF;
END $$;

-- 1. New emails.
WITH new_email AS (
    SELECT s.email, min(s.seen_at) AS first_seen
    FROM stg_keys s
    WHERE s.email IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM core.customer_keys k WHERE k.key_type = 'email' AND k.key_value = s.email)
    GROUP BY s.email
), known AS (   -- customers this email's records already point to by phone (1) or platform id (2)
    SELECT s.email, k.customer_id, 1 AS prio, s.seen_at
    FROM stg_keys s JOIN new_email n USING (email)
    JOIN core.customer_keys k ON k.key_type = 'phone' AND k.key_value = s.phone
    UNION ALL
    SELECT s.email, k.customer_id, 2, s.seen_at
    FROM stg_keys s JOIN new_email n USING (email)
    JOIN core.customer_keys k ON k.key_type = s.platform_type AND k.key_value = s.platform_id
), adopt AS (
    SELECT DISTINCT ON (email COLLATE "C") email, customer_id
    FROM known
    WHERE NOT EXISTS (SELECT 1 FROM core.customer_keys e WHERE e.key_type = 'email' AND e.customer_id = known.customer_id)
    ORDER BY email COLLATE "C", prio, seen_at, customer_id COLLATE "C"
)
INSERT INTO core.customer_keys (key_type, key_value, customer_id, first_seen_at)
SELECT 'email', n.email, coalesce(a.customer_id, 'cus_' || left(md5('email:' || n.email), 16)), n.first_seen
FROM new_email n LEFT JOIN adopt a USING (email);
DO $$ BEGIN IF NOT current_setting('marts.incremental')::boolean THEN ANALYZE core.customer_keys; END IF; END $$;

-- 2. New phones: the customer of the earliest record's email, else of its platform id, else new.
WITH new_phone AS (
    SELECT s.phone, min(s.seen_at) AS first_seen
    FROM stg_keys s
    WHERE s.phone IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM core.customer_keys k WHERE k.key_type = 'phone' AND k.key_value = s.phone)
    GROUP BY s.phone
), known AS (
    SELECT s.phone, k.customer_id, 1 AS prio, s.seen_at
    FROM stg_keys s JOIN new_phone USING (phone)
    JOIN core.customer_keys k ON k.key_type = 'email' AND k.key_value = s.email
    UNION ALL
    SELECT s.phone, k.customer_id, 2, s.seen_at
    FROM stg_keys s JOIN new_phone USING (phone)
    JOIN core.customer_keys k ON k.key_type = s.platform_type AND k.key_value = s.platform_id
), pick AS (
    SELECT DISTINCT ON (phone COLLATE "C") phone, customer_id
    FROM known ORDER BY phone COLLATE "C", prio, seen_at, customer_id COLLATE "C"
)
INSERT INTO core.customer_keys (key_type, key_value, customer_id, first_seen_at)
SELECT 'phone', n.phone, coalesce(p.customer_id, 'cus_' || left(md5('phone:' || n.phone), 16)), n.first_seen
FROM new_phone n LEFT JOIN pick p USING (phone);
DO $$ BEGIN IF NOT current_setting('marts.incremental')::boolean THEN ANALYZE core.customer_keys; END IF; END $$;

-- 3. New platform ids: the customer of the earliest record's email, else of its phone, else new.
--    (Every email and phone has a key by now, so the earliest record with one decides.)
--    Each platform id's first email and phone (the first in byte order at the same instant) come
--    from two passes over the keys instead of sorting every record; kept with statistics, so the
--    join below is planned on their real size. The second pass is grouped by sorting (the planner
--    cannot tell how few rows the join keeps): the id leads the sort, since its type has six values
--    and a sort that starts with the type compares nearly every pair in full (1.4 s against 2.5-3.7 s).
CREATE TEMP TABLE pid_firsts ON COMMIT DROP AS
WITH first_seen AS (
    SELECT platform_type, platform_id,
           min(seen_at) FILTER (WHERE email IS NOT NULL) AS email_at,
           min(seen_at) FILTER (WHERE phone IS NOT NULL) AS phone_at
    FROM stg_keys
    WHERE platform_id IS NOT NULL AND (email IS NOT NULL OR phone IS NOT NULL)
    GROUP BY platform_type, platform_id
)
SELECT s.platform_type, s.platform_id,
       min(s.email COLLATE "C") FILTER (WHERE s.seen_at = f.email_at) AS email,
       min(s.phone COLLATE "C") FILTER (WHERE s.seen_at = f.phone_at) AS phone
FROM stg_keys s JOIN first_seen f USING (platform_type, platform_id)
WHERE s.seen_at IN (f.email_at, f.phone_at)
GROUP BY s.platform_id COLLATE "C", s.platform_type COLLATE "C", s.platform_id, s.platform_type;
ANALYZE pid_firsts;
WITH new_pid AS (
    SELECT s.platform_type, s.platform_id, min(s.seen_at) AS first_seen
    FROM stg_keys s
    WHERE s.platform_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM core.customer_keys k
                      WHERE k.key_type = s.platform_type AND k.key_value = s.platform_id)
    GROUP BY s.platform_type, s.platform_id
)
INSERT INTO core.customer_keys (key_type, key_value, customer_id, first_seen_at)
SELECT n.platform_type, n.platform_id,
       coalesce(ke.customer_id, kp.customer_id, 'cus_' || left(md5(n.platform_type || ':' || n.platform_id), 16)),
       n.first_seen
FROM new_pid n
LEFT JOIN pid_firsts f USING (platform_type, platform_id)
LEFT JOIN core.customer_keys ke ON ke.key_type = 'email' AND ke.key_value = f.email
LEFT JOIN core.customer_keys kp ON kp.key_type = 'phone' AND kp.key_value = f.phone;
DO $$
BEGIN
    PERFORM marts.restore_indexes('core.customer_keys');  -- when filled from empty above
    IF NOT current_setting('marts.incremental')::boolean THEN ANALYZE core.customer_keys; END IF;
END $$;

-- Every record resolved by precedence (used for sources, consent and subscription dates): the rule
-- is marts.resolved_view's (migration 252), which core_orders.sql resolves orders by too. A view: a
-- full rebuild reads it once, straight into core.identity_records, without a copy of every record.
SELECT marts.resolved_view('resolved_identities', 'stg_identities');

-- The changed days' records replace what those days gave before (a full rebuild: every record);
-- the customers they touch, before or now, are recomputed (a full rebuild: everyone, read whole
-- below without a list).
CREATE TEMP TABLE customers_todo (customer_id text) ON COMMIT DROP;
DO $$
BEGIN
    IF current_setting('marts.incremental')::boolean THEN
        WITH gone AS (
            DELETE FROM core.identity_records r USING scope_days d
            WHERE r.source = d.key AND r.day = d.day
            RETURNING r.customer_id
        )
        -- Unresolved (NULL) customers are dropped after, not filtered here: a filter on the view's
        -- customer_id repeats its lookups, and the planner then hashes every email key instead of
        -- looking a few days' records up by key (85 ms against 2 ms at a million orders).
        INSERT INTO customers_todo
        SELECT customer_id FROM gone
        UNION SELECT customer_id FROM resolved_identities;
        DELETE FROM customers_todo WHERE customer_id IS NULL;
        DELETE FROM core.customers WHERE customer_id IN (SELECT customer_id FROM customers_todo);
    ELSE  -- every record again: filled without indexes, built once afterwards
        TRUNCATE core.identity_records, core.customers;
        PERFORM marts.set_aside_indexes('core.identity_records');
        PERFORM marts.set_aside_indexes('core.customers');
    END IF;
END $$;
ANALYZE customers_todo;
INSERT INTO core.identity_records (source, day, record_id, customer_id, seen_at, accepts_marketing, subscribed_at)
SELECT source, day, record_id, customer_id, seen_at, accepts_marketing, subscribed_at FROM resolved_identities;
DROP VIEW resolved_identities, stg_identities;
DO $$
BEGIN
    IF NOT current_setting('marts.incremental')::boolean THEN
        PERFORM marts.restore_indexes('core.identity_records');
        ANALYZE core.identity_records;
    END IF;
END $$;

-- The rows of the customers to recompute, chosen by mode as the refresh_<raw> views are: a refresh
-- looks its few customers up through the customer indexes (a filter that ORs in the setting cannot
-- become a join and read both tables whole), a full rebuild reads everyone without looking them up.
DO $$
BEGIN
    IF current_setting('marts.incremental')::boolean THEN
        CREATE TEMP VIEW todo_keys AS
        SELECT * FROM core.customer_keys WHERE customer_id IN (SELECT customer_id FROM customers_todo);
        CREATE TEMP VIEW todo_records AS
        SELECT * FROM core.identity_records WHERE customer_id IN (SELECT customer_id FROM customers_todo);
    ELSE
        CREATE TEMP VIEW todo_keys AS SELECT * FROM core.customer_keys;
        CREATE TEMP VIEW todo_records AS SELECT * FROM core.identity_records;
    END IF;
END $$;

-- Each customer's first key of each type (the earliest; at the same instant the lowest in byte
-- order), one sort of the keys instead of a sort per customer and type. Consent is the latest
-- record's that says: a yes and a no at the same instant give no. Neither part sorts the records:
-- they are grouped once per customer, their sources kept as bits of a mask, where a group per
-- customer and source was sorted and grouped again (545k groups at a million orders: 2.8-3.0 s for
-- this statement against 2.45-2.5 s).
WITH firsts AS (
    SELECT DISTINCT ON (customer_id, key_type) customer_id, key_type, key_value, first_seen_at
    FROM todo_keys
    ORDER BY customer_id, key_type, first_seen_at, key_value
), keyed AS (
    SELECT customer_id,
           min(key_value) FILTER (WHERE key_type = 'email') AS email,
           min(key_value) FILTER (WHERE key_type = 'phone') AS phone,
           min(key_value) FILTER (WHERE key_type = 'tiktok_user') AS tiktok_user_id,
           min(key_value) FILTER (WHERE key_type = 'website_customer') AS website_customer_id,
           min(key_value) FILTER (WHERE key_type = 'klaviyo_profile') AS klaviyo_profile_id,
           min(key_value) FILTER (WHERE key_type = 'customerio_person') AS customerio_person_id,
           min(first_seen_at) AS first_seen_at
    FROM firsts
    GROUP BY customer_id
), named AS (   -- the sources the records name, each a bit of a customer's mask below (an int:
                -- 31 sources at most; four name people)
    SELECT array_agg(source ORDER BY source) AS sources FROM (SELECT DISTINCT source FROM todo_records) s
), per_customer AS (   -- one grouping of the records: the sources as a bit mask, not a group each
    SELECT r.customer_id,
           max(r.seen_at) FILTER (WHERE r.accepts_marketing) AS yes_at,
           max(r.seen_at) FILTER (WHERE NOT r.accepts_marketing) AS no_at,
           min(r.subscribed_at) AS subscribed_at,
           bit_or(1 << (array_position((SELECT sources FROM named), r.source) - 1)) AS mask
    FROM todo_records r
    GROUP BY r.customer_id
), seen AS (
    SELECT customer_id,
           CASE WHEN yes_at > coalesce(no_at, '-infinity') THEN true
                WHEN no_at IS NOT NULL THEN false END AS accepts_marketing,
           subscribed_at,
           ARRAY(SELECT s FROM unnest((SELECT sources FROM named)) WITH ORDINALITY AS u(s, i)
                 WHERE mask & (1 << (i::int - 1)) <> 0 ORDER BY i) AS sources
    FROM per_customer
)
INSERT INTO core.customers (customer_id, email, phone, tiktok_user_id, website_customer_id,
                            klaviyo_profile_id, customerio_person_id, accepts_marketing, subscribed_at,
                            first_seen_at, sources)
SELECT k.customer_id, k.email, k.phone, k.tiktok_user_id, k.website_customer_id, k.klaviyo_profile_id,
       k.customerio_person_id, s.accepts_marketing, s.subscribed_at, k.first_seen_at,
       coalesce(s.sources, '{}')
FROM keyed k LEFT JOIN seen s USING (customer_id);
DROP VIEW todo_keys, todo_records;
SELECT marts.restore_indexes('core.customers');  -- when emptied above
