"""Migration 250: the keys of core.email_events and core.customer_keys lead with their distinct
column; the rows come through, the keys still refuse a duplicate and still serve the lookups."""

import psycopg
import pytest

from marketing_pipeline.warehouse import connect, migrate
from marketing_pipeline_tests.conftest import database_before

BEFORE = "250"
EVENTS = "SELECT platform, event_id, event_type, customer_id FROM core.email_events ORDER BY 1, 2"
KEYS = "SELECT key_type, key_value, customer_id FROM core.customer_keys ORDER BY 1, 2"


@pytest.fixture
def old_database(pg_server_url, tmp_path):
    with database_before(pg_server_url, BEFORE, tmp_path) as url:
        with connect(url) as conn:
            conn.execute(
                "INSERT INTO core.email_events (platform, event_id, event_type, occurred_at, event_date,"
                " customer_id) VALUES"
                " ('customerio', 'd1:open', 'open', '2026-03-01 10:00Z', '2026-03-01', 'cus_a'),"
                " ('klaviyo', 'd1:open', 'open', '2026-03-01 11:00Z', '2026-03-01', 'cus_b')"
            )
            conn.execute(
                "INSERT INTO core.customer_keys (key_type, key_value, customer_id, first_seen_at) VALUES"
                " ('email', 'a@example.com', 'cus_a', '2026-03-01'),"
                " ('tiktok_user', 'a@example.com', 'cus_b', '2026-03-01')"
            )
        yield url


def _plan(conn, sql: str) -> str:
    conn.execute("SET LOCAL enable_seqscan = off")  # two rows: read through an index whenever one serves
    return "\n".join(r[0] for r in conn.execute(f"EXPLAIN {sql}"))


def test_the_rows_come_through_and_the_keys_hold_with_their_distinct_column_first(old_database):
    with connect(old_database) as conn:
        events, keys = conn.execute(EVENTS).fetchall(), conn.execute(KEYS).fetchall()
    assert BEFORE in migrate(old_database)[0]
    with connect(old_database) as conn:
        assert conn.execute(EVENTS).fetchall() == events
        assert conn.execute(KEYS).fetchall() == keys
        key_columns = dict(
            conn.execute(
                "SELECT conrelid::regclass::text, (SELECT array_agg(a.attname::text ORDER BY k.n)"
                " FROM unnest(conkey) WITH ORDINALITY k(attnum, n)"
                " JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = k.attnum)"
                " FROM pg_constraint WHERE contype = 'p'"
                " AND conrelid IN ('core.email_events'::regclass, 'core.customer_keys'::regclass)"
            ).fetchall()
        )
        assert key_columns == {
            "core.email_events": ["event_id", "platform"],
            "core.customer_keys": ["key_value", "key_type"],
        }
        # the lookups the refresh makes name both columns and go through the key
        assert "email_events_pkey" in _plan(
            conn, "SELECT 1 FROM core.email_events WHERE (platform, event_id) IN (('customerio', 'd1:open'))"
        )
        assert "customer_keys_pkey" in _plan(
            conn,
            "SELECT customer_id FROM core.customer_keys WHERE key_type = 'email' AND key_value = 'a@example.com'",
        )
        conn.rollback()
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO core.email_events (platform, event_id, event_type, occurred_at, event_date)"
                " VALUES ('klaviyo', 'd1:open', 'open', '2026-03-02 10:00Z', '2026-03-02')"
            )
        conn.rollback()
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO core.customer_keys (key_type, key_value, customer_id, first_seen_at)"
                " VALUES ('email', 'a@example.com', 'cus_c', '2026-03-02')"
            )
