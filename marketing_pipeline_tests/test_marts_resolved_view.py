"""marts.resolved_view (migration 252): the customer of a staged row by the match rule of
core.customers, the one place both core_customers.sql and core_orders.sql resolve by."""

import psycopg
import pytest

from marketing_pipeline.settings import PROJECT_ROOT

KEYS = [
    ("email", "ann@example.com", "cus_email"),
    ("phone", "+14155550100", "cus_phone"),
    ("website_customer", "w-1", "cus_website"),
]
STAGED = [  # (row, email, phone, platform_type, platform_id)
    ("email first", "ann@example.com", "+14155550100", "website_customer", "w-1"),
    ("then phone", "new@example.com", "+14155550100", "website_customer", "w-1"),
    ("then platform id", None, None, "website_customer", "w-1"),
    ("unknown", "new@example.com", "+14155550199", "website_customer", "w-2"),
    ("same id, other platform", None, None, "tiktok_user", "w-1"),
]


def test_a_staged_row_takes_the_customer_of_its_email_then_its_phone_then_its_platform_id(conn):
    conn.execute(
        "INSERT INTO core.customer_keys (key_type, key_value, customer_id, first_seen_at)"
        " SELECT *, now() FROM unnest(%s::text[], %s::text[], %s::text[])",
        [list(k) for k in zip(*KEYS, strict=True)],
    )
    with conn.transaction():
        conn.execute(
            "CREATE TEMP TABLE stg_rows (row text, email text, phone text, platform_type text, platform_id text)"
            " ON COMMIT DROP"
        )
        conn.cursor().executemany("INSERT INTO stg_rows VALUES (%s, %s, %s, %s, %s)", STAGED)
        conn.execute("SELECT marts.resolved_view('resolved_rows', 'stg_rows')")
        rows = conn.execute("SELECT row, email, platform_id, customer_id FROM resolved_rows").fetchall()
    assert {r[0]: r[3] for r in rows} == {
        "email first": "cus_email",
        "then phone": "cus_phone",
        "then platform id": "cus_website",
        "unknown": None,
        "same id, other platform": None,
    }
    assert {(r[0], r[1], r[2]) for r in rows} == {
        (s[0], s[1], s[4]) for s in STAGED
    }  # the staged columns kept


def test_the_view_needs_the_staged_rows_to_exist(conn):
    with pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute("SELECT marts.resolved_view('resolved_rows', 'stg_nothing')")


def test_both_builders_resolve_through_it():
    for builder, staged in (("core_customers", "stg_identities"), ("core_orders", "stg_orders")):
        sql = (PROJECT_ROOT / "sql" / "marts" / f"{builder}.sql").read_text()
        assert f"marts.resolved_view('resolved_{staged.removeprefix('stg_')}', '{staged}')" in sql
        assert "TEMP VIEW resolved_" not in sql  # the rule itself is not written again
