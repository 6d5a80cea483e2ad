"""Migration 249: marts.rfm_scores partitioned by month; the stored scores and marts.rfm come through."""

import psycopg
import pytest

from marketing_pipeline.warehouse import connect, migrate
from marketing_pipeline_tests.conftest import database_before

BEFORE = "249"
SCORES = [
    ("2026-03-01", "cus_a", "2026-03-20", 2, "120.00", 5, 4, 4, "Champions"),
    ("2026-03-01", "cus_b", "2026-01-05", 1, "30.00", 1, 1, 1, "Lost"),
    ("2026-04-01", "cus_a", "2026-04-02", 3, "150.00", 5, 5, 5, "Champions"),
]
ROWS = "SELECT month::text, customer_id, last_day::text, frequency, monetary::text, r, f, m, segment FROM marts.rfm_scores"


@pytest.fixture
def old_database(pg_server_url, tmp_path):
    """A database migrated up to migration 249 (not included), with two months of scores."""
    with database_before(pg_server_url, BEFORE, tmp_path) as url:
        with connect(url) as conn:
            conn.cursor().executemany(
                "INSERT INTO marts.rfm_scores VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", SCORES
            )
            conn.execute(
                "INSERT INTO marts.rfm_snapshots (as_of, inputs) VALUES ('2026-03-31', 'x'), ('2026-04-02', 'y')"
            )
        yield url


def test_each_month_becomes_a_keyed_partition_and_the_rows_come_through(old_database):
    with connect(old_database) as conn:
        view_before = conn.execute("SELECT * FROM marts.rfm ORDER BY as_of, customer_id").fetchall()
    assert BEFORE in migrate(old_database)[0]
    with connect(old_database) as conn:
        assert conn.execute(f"{ROWS} ORDER BY month, customer_id").fetchall() == [
            (month, cid, last, freq, money, r, f, m, seg)
            for month, cid, last, freq, money, r, f, m, seg in SCORES
        ]
        assert conn.execute("SELECT * FROM marts.rfm ORDER BY as_of, customer_id").fetchall() == view_before
        parts = conn.execute(
            "SELECT p.month::text, p.part::text, (SELECT count(*) FROM pg_index x WHERE x.indrelid = p.part"
            " AND x.indisprimary) FROM marts.rfm_partitions() p ORDER BY 1"
        ).fetchall()
        assert parts == [
            ("2026-03-01", "marts.rfm_scores_202603", 1),
            ("2026-04-01", "marts.rfm_scores_202604", 1),
        ]
        # the parent's key holds across the partitions, and a month without a partition is refused
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO marts.rfm_scores VALUES ('2026-04-01', 'cus_a', '2026-04-02', 1, 1, 1, 1, 1, 'x')"
            )
        conn.rollback()
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO marts.rfm_scores VALUES ('2026-05-01', 'cus_a', '2026-05-02', 1, 1, 1, 1, 1, 'x')"
            )
        conn.rollback()
        assert conn.execute(
            "SELECT relpersistence FROM pg_class WHERE oid = 'marts.rfm_scores_202603'::regclass"
        ).fetchone() == ("u",)  # unlogged, as the table was
