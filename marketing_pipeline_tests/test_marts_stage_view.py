"""marts.stage_view (migration 251): a builder's staged tables, one per source, read as one view."""

import psycopg
import pytest


def _stage(conn, name: str, rows: list[tuple[str, int]]) -> None:
    conn.execute(
        f"CREATE TEMP TABLE {name} (source, n) ON COMMIT DROP AS SELECT * FROM (VALUES {', '.join(['(%s, %s)'] * len(rows))}) v",
        [x for r in rows for x in r],
    )


def test_every_staged_part_is_read_once_analyzed_and_a_later_part_is_taken_in(conn):
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE stg_things_shape (source text, n int) ON COMMIT DROP")
        _stage(conn, "stg_things_a", [("a", 1), ("a", 2)])
        _stage(conn, "stg_things_b", [("b", 3)])
        conn.execute("CREATE TEMP TABLE stg_thingsx (source text, n int) ON COMMIT DROP")  # not a part
        conn.execute("INSERT INTO stg_thingsx VALUES ('x', 9)")
        before = conn.execute("SHOW default_statistics_target").fetchone()[0]
        conn.execute("SELECT marts.stage_view('stg_things')")
        assert (
            conn.execute("SHOW default_statistics_target").fetchone()[0] == before
        )  # its sample, not the caller's
        assert conn.execute("SELECT * FROM stg_things ORDER BY n").fetchall() == [
            ("a", 1),
            ("a", 2),
            ("b", 3),
        ]
        analyzed = dict(
            conn.execute(
                "SELECT relname, reltuples >= 0 FROM pg_class"
                " WHERE relnamespace = pg_my_temp_schema() AND relname LIKE 'stg_things%' AND relkind = 'r'"
            ).fetchall()
        )
        assert analyzed == {
            "stg_things_shape": True,
            "stg_things_a": True,
            "stg_things_b": True,
            "stg_thingsx": False,
        }

        _stage(conn, "stg_things_c", [("c", 4)])
        conn.execute("SELECT marts.stage_view('stg_things')")
        assert conn.execute("SELECT count(*), sum(n) FROM stg_things").fetchone() == (4, 10)


def test_a_name_with_nothing_staged_is_refused(conn):
    with pytest.raises(psycopg.errors.RaiseException, match="no staged table stg_nothing_<part>"):
        conn.execute("SELECT marts.stage_view('stg_nothing')")
