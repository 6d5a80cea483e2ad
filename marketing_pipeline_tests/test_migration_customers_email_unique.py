"""Migration 254: core.customers says with a unique index that no email is on two customers, unless
its rows already break the rule (then the gate keeps counting them)."""

import pytest

from marketing_pipeline.marts.gates import customers_keys_unique
from marketing_pipeline.warehouse import connect, migrate
from marketing_pipeline_tests.conftest import database_before

CUSTOMERS = (
    "INSERT INTO core.customers (customer_id, email, first_seen_at, sources)"
    " VALUES (%s, %s, '2026-03-01 12:00+00', '{website}')"
)


@pytest.mark.parametrize(
    ("emails", "indexed"),
    [
        (["ann@example.com", "zoe@example.com", None, None], True),
        (["ann@example.com", "ann@example.com"], False),
    ],
)
def test_the_unique_index_is_made_where_the_rows_keep_the_rule(pg_server_url, tmp_path, emails, indexed):
    with database_before(pg_server_url, "254", tmp_path) as url:
        with connect(url) as conn:
            conn.cursor().executemany(CUSTOMERS, [(f"cus_{i}", e) for i, e in enumerate(emails)])
        migrate(url)
        with connect(url) as conn:
            made = conn.execute("SELECT to_regclass('core.customers_email_key') IS NOT NULL").fetchone()[0]
            passed, metadata = customers_keys_unique(conn)
    assert made is indexed
    assert passed is indexed  # counted without the index: one email on two customers
    assert metadata["emails_on_several_customers"] == (0 if indexed else 1)
    assert metadata["audited"] == ("the unique index on email" if indexed else "the whole table")
