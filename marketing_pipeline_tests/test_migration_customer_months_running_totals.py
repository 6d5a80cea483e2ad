"""Migrations 245 and 246: the stored customer months gain their running totals, and the two
audited core builders rebuild in full on their next run."""

from decimal import Decimal

import pytest

from marketing_pipeline.warehouse import connect, migrate
from marketing_pipeline_tests.conftest import database_before

MONTHS = [  # customer, month, orders, revenue: a's months out of order, b with one month
    ("cus_a", "2026-03-01", 2, Decimal("30.00")),
    ("cus_a", "2026-01-01", 1, Decimal("10.00")),
    ("cus_b", "2026-02-01", 3, Decimal("99.50")),
    ("cus_a", "2026-02-01", 4, Decimal("5.25")),
]


@pytest.fixture
def old_database(pg_server_url, tmp_path):
    """A database migrated up to migration 245 (not included), with customer months and the refresh
    state of three builders."""
    with database_before(pg_server_url, "245", tmp_path) as url:
        with connect(url) as conn:
            conn.cursor().executemany(
                "INSERT INTO core.customer_months (customer_id, month, cohort_month, orders, revenue, last_day)"
                " VALUES (%s, %s, '2026-01-01', %s, %s, %s::date + 10)",
                [(c, m, n, r, m) for c, m, n, r in MONTHS],
            )
            for target in ("core_customers", "core_orders", "rfm"):
                conn.execute(
                    "INSERT INTO marts.refresh_state (target, snap, xact, settings) VALUES (%s, '1:1:', '1', 'x')",
                    (target,),
                )
                conn.execute("INSERT INTO marts.built_targets VALUES (%s)", (target,))
        yield url


def test_running_totals_are_filled_and_the_audited_builders_start_over(old_database):
    migrate(old_database)
    with connect(old_database) as conn:
        rows = conn.execute(
            "SELECT customer_id, month::text, orders_to_date, revenue_to_date, next_month::text"
            " FROM core.customer_months ORDER BY 1, 2"
        ).fetchall()
        assert rows == [
            ("cus_a", "2026-01-01", 1, Decimal("10.00"), "2026-02-01"),
            ("cus_a", "2026-02-01", 5, Decimal("15.25"), "2026-03-01"),
            ("cus_a", "2026-03-01", 7, Decimal("45.25"), None),
            ("cus_b", "2026-02-01", 3, Decimal("99.50"), None),
        ]
        # core_customers and core_orders rebuild in full next (audited whole); still built meanwhile
        states = dict(conn.execute("SELECT target, settings FROM marts.refresh_state"))
        assert states["rfm"] == "x" and states["core_customers"] != "x" and states["core_orders"] != "x"
        conn.execute("SELECT marts.require_built('core_customers', 'core_orders')")
