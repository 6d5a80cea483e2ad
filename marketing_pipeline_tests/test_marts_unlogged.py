"""The core tables and marts are unlogged (migration 243): a server crash empties them. Recovery is
simulated here as PostgreSQL does it: every unlogged table emptied, no trigger fired. Until the
next refresh, what writes elsewhere refuses to read them; the next refresh rebuilds them in full,
to the very rows they held."""

from datetime import timedelta

import psycopg
import pytest

from marketing_pipeline.activation import model
from marketing_pipeline.marts.assets import build_segments
from marketing_pipeline_tests.marts_fixtures import FIRST, LAST, build, model_tables, seed_history

# Kept in the write-ahead log: what a rebuild cannot make again (identity maps, the segment days
# already written, prediction fits) and the small logs and settings.
LOGGED = {
    "core.customer_keys",
    "core.order_names",
    "marts.built_targets",
    "marts.changed_days",
    "marts.customer_prediction_fits",
    "marts.customer_prediction_holdout",
    "marts.customer_predictions",
    "marts.customer_segment_days",
    "marts.customer_segment_spans",
    "marts.customer_segment_state",
    "marts.customer_segment_touched",
    "marts.rfm_segment_map",
}


def _persistence(conn) -> dict[str, str]:
    """Each table's persistence. A partitioned table (marts.rfm_scores) has no storage of its own:
    it stands for its partitions, and appears once it has one."""
    return {
        name: p
        for name, p in conn.execute(
            "SELECT coalesce(i.inhparent::regclass::text, n.nspname || '.' || c.relname), c.relpersistence"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid"
            " WHERE n.nspname IN ('core', 'marts') AND c.relkind = 'r'"
        )
    }


def test_derived_tables_are_unlogged_and_the_rest_logged(conn):
    tables = _persistence(conn)
    assert LOGGED <= tables.keys()
    assert {t for t, p in tables.items() if p == "p"} == LOGGED
    assert {"core.orders", "core.email_events", "marts.refresh_state", "marts.rfm_snapshots"} <= {
        t for t, p in tables.items() if p == "u"
    }


def _crash(conn) -> None:
    """What recovery does to unlogged tables: empty, with no trigger told."""
    unlogged = [t for t, p in _persistence(conn).items() if p == "u"]
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")  # no TRUNCATE triggers
        conn.execute(f"TRUNCATE {', '.join(unlogged)}")


def test_a_crash_empties_the_model_until_the_next_refresh_rebuilds_it(conn):
    seed_history(conn)
    build(conn, FIRST, LAST, segments_from=LAST)
    before = model_tables(conn, (LAST, LAST))
    assert before["core.orders"] and before["marts.rfm"] and before["marts.customer_segments"]
    assert _persistence(conn)["marts.rfm_scores"] == "u"  # its monthly partitions

    _crash(conn)
    assert conn.execute("SELECT count(*) FROM core.customers").fetchone()[0] == 0
    # Segment snapshots and the syncs refuse the emptied model rather than take it for no customers.
    with pytest.raises(
        psycopg.errors.ObjectNotInPrerequisiteState, match="core_customers, core_orders.*marts_refresh"
    ):
        with conn.transaction():
            build_segments(conn, LAST + timedelta(days=1), LAST + timedelta(days=1))
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="core_customer_names"):
        with conn.transaction():
            model.segments_as_of(conn, LAST)

    # The next refresh finds no state: every builder rebuilds in full, to the rows of before.
    build(conn, FIRST, LAST, segments_from=LAST)
    after = model_tables(conn, (LAST, LAST))
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == before[name], name
    assert model.segments_as_of(conn, LAST) == LAST


def test_a_new_warehouse_is_not_taken_for_an_emptied_one(conn):
    """Nothing built yet is not a crash: readers find nothing, as before."""
    assert model.segments_as_of(conn, LAST) is None
    conn.execute("SELECT marts.require_built('core_customers', 'core_orders')")
