"""The lanes' sessions of the model's step (marts/sessions.py): one per lane, kept for the run, each
builder a transaction on it that leaves nothing behind when it fails."""

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from marketing_pipeline.marts.sessions import LaneSessions


def test_each_lane_keeps_its_session_and_a_failed_transaction_leaves_nothing(pg_server_url):
    sessions = LaneSessions(pg_server_url)

    def backends() -> list[int]:
        out = []
        for _ in range(2):
            with sessions.transaction() as conn:
                out.append(conn.info.backend_pid)
        return out

    try:
        mine = backends()
        with ThreadPoolExecutor(1) as other_lane:
            theirs = other_lane.submit(backends).result()
        assert mine[0] == mine[1] and theirs[0] == theirs[1] and mine[0] != theirs[0]

        with pytest.raises(RuntimeError), sessions.transaction() as conn:
            conn.execute("CREATE TEMP TABLE half_done (x int)")
            raise RuntimeError("the builder failed")
        with sessions.transaction() as conn:  # the same session, rolled back
            assert conn.info.backend_pid == mine[0]
            assert conn.execute("SELECT to_regclass('pg_temp.half_done')").fetchone()[0] is None
    finally:
        sessions.close()


def test_an_unreachable_warehouse_fails_at_once_with_the_drivers_message():
    sessions = LaneSessions("postgresql://postgres@127.0.0.1:9/none?connect_timeout=3")
    with pytest.raises(psycopg.OperationalError, match="127.0.0.1"), sessions.transaction():
        pass
