"""Migration 244: identifiers in core and marts compare as bytes; rows and views come through."""

import psycopg
import pytest

from marketing_pipeline.warehouse import connect, migrate
from marketing_pipeline_tests.conftest import database_before

BEFORE = "244"
KEYS = [
    ("email", "ann@example.com", "cus_a", "2026-03-01 12:00+00"),
    ("email", "Zoe@example.com", "cus_b", "2026-03-02 12:00+00"),
    ("phone", "+14155550100", "cus_a", "2026-03-01 12:00+00"),
]


@pytest.fixture
def old_database(pg_server_url, tmp_path):
    """A database migrated up to migration 244 (not included), with a few identity keys."""
    with database_before(pg_server_url, BEFORE, tmp_path) as url:
        with connect(url) as conn:
            conn.cursor().executemany(
                "INSERT INTO core.customer_keys (key_type, key_value, customer_id, first_seen_at)"
                " VALUES (%s, %s, %s, %s)",
                KEYS,
            )
        yield url


def _collations(conn) -> dict[str, str | None]:
    return {
        f"{schema}.{table}.{column}": collation
        for schema, table, column, collation in conn.execute(
            "SELECT c.table_schema, c.table_name, c.column_name, c.collation_name"
            " FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema IN ('core', 'marts') AND t.table_type = 'BASE TABLE' AND c.data_type = 'text'"
        )
    }


def _views(conn) -> dict[str, str]:
    return dict(
        conn.execute(
            "SELECT table_schema || '.' || table_name, view_definition FROM information_schema.views"
            " WHERE table_schema IN ('core', 'marts')"
        )
    )


def test_identifiers_compare_as_bytes_and_rows_and_views_come_through(old_database):
    with connect(old_database) as conn:
        views_before = _views(conn)
        assert all(c is None for c in _collations(conn).values())
    assert BEFORE in migrate(old_database)[0]
    with connect(old_database) as conn:
        collations = _collations(conn)
        ids = {k for k in collations if k.endswith((".customer_id", ".order_key", ".event_id", ".key_value"))}
        assert len(ids) >= 14 and {collations[k] for k in ids} == {"C"}
        # names shown to people keep the database's own order
        for name in (
            "core.email_events.campaign_name",
            "core.order_lines.product_name",
            "marts.rfm_scores.segment",
        ):
            assert collations[name] is None
        # changing a column's type dropped its statistics: the migration gathered them again
        assert conn.execute(
            "SELECT count(*) FROM pg_stats WHERE schemaname = 'core' AND tablename = 'customer_keys'"
            " AND attname = 'customer_id'"
        ).fetchone() == (1,)
        # every view is back, reading what it read before
        assert _views(conn) == views_before
        for view in views_before:
            conn.execute(f"SELECT * FROM {view} LIMIT 1")
        rows = conn.execute(
            "SELECT key_type, key_value, customer_id, first_seen_at::text FROM core.customer_keys ORDER BY key_value"
        ).fetchall()
        assert [r[:3] for r in rows] == [
            ("phone", "+14155550100", "cus_a"),
            ("email", "Zoe@example.com", "cus_b"),  # byte order: capitals first, as C.UTF-8 sorts them
            ("email", "ann@example.com", "cus_a"),
        ]
        # the key still holds, and a default-collated text still joins (equality is byte-wise either way)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO core.customer_keys (key_type, key_value, customer_id, first_seen_at)"
                " VALUES ('email', 'ann@example.com', 'cus_x', now())"
            )
        conn.rollback()
        joined = conn.execute(
            "SELECT k.customer_id FROM core.customer_keys k JOIN (VALUES ('ann@example.com'::text)) v(e)"
            " ON k.key_value = v.e"
        ).fetchall()
        assert joined == [("cus_a",)]
