"""Offers that can be redeemed: the code pool, its import, the claim, and an empty pool."""

import re
import threading
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from marketing_pipeline.cart_recovery import discount_codes, outbox, runner
from marketing_pipeline.cart_recovery.codes_cli import import_discount_codes
from marketing_pipeline.sandbox.discount_codes import sandbox_codes, seed_pool
from marketing_pipeline_tests.cart_support import T, events, messages, record

OFFER_AT = T + timedelta(hours=48, minutes=1)


def run_sequence(instance, warehouse_url, carts: list[str]) -> dict[str, list]:
    for cart in carts:
        record(warehouse_url, events(cart, T, f"{cart}@example.com"))
    cursor, out = None, {}
    for minutes in (31, 24 * 60 + 1, 48 * 60 + 1):
        cursor, runs = runner.advance(instance, T + timedelta(minutes=minutes), cursor)
        for r in runs:
            out.setdefault(r.cart_id, []).append(r)
    return out


def text_of(mail: dict) -> str:
    return next(c["value"] for c in mail["content"] if c["type"] == "text/plain")


def test_import_adds_codes_once_and_refuses_a_bad_file_whole(conn, tmp_path, capsys):
    good = tmp_path / "codes.csv"
    good.write_text(
        "code,expires_at\nSPRING-0001,2026-12-31\nSPRING-0002,\nSPRING-0003,2026-12-31T23:59:00+01:00\n"
    )
    assert import_discount_codes(str(good)) == 0
    assert "3 added, 0 already in the pool" in capsys.readouterr().out
    rows = dict(conn.execute("SELECT code, expires_at FROM ops.discount_codes ORDER BY code").fetchall())
    assert rows["SPRING-0002"] is None and rows["SPRING-0001"] == datetime(2026, 12, 31, tzinfo=UTC)
    assert import_discount_codes(str(good)) == 0  # idempotent
    assert "0 added, 3 already in the pool" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_text("code,expires_at\nOK-CODE-1,\nno spaces,\nOK-CODE-1,\nOK-CODE-2,next week\n")
    assert import_discount_codes(str(bad)) == 1
    err = capsys.readouterr().err
    assert "line 3" in err and "line 4" in err and "twice" in err and "line 5" in err
    assert conn.execute("SELECT count(*) FROM ops.discount_codes").fetchone()[0] == 3  # nothing written
    missing = tmp_path / "nocode.csv"
    missing.write_text("voucher\nX\n")
    assert import_discount_codes(str(missing)) == 1
    assert import_discount_codes(str(tmp_path / "absent.csv")) == 2


def test_offers_carry_only_pool_codes_each_once_then_go_out_without_one(cart_env, warehouse_url, conn):
    _, url, instance = cart_env
    seed_pool(conn, size=2, now=T)
    carts = [f"c-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    runs = run_sequence(instance, warehouse_url, carts)
    assert all([r.status for r in runs[c]] == ["sent", "sent", "sent"] for c in carts)
    pool = set(sandbox_codes(2))
    handed = {}
    for cart in carts:
        offer = messages(url, cart)[2]
        code = conn.execute(
            "SELECT discount_code FROM ops.recovery_outbox WHERE cart_id = %s AND step = 3", (cart,)
        ).fetchone()[0]
        if code:
            assert code in pool and code in text_of(offer)
            handed[cart] = code
        else:  # the pool ran dry: the step goes out without the offer, and says nothing of a code
            assert "code" not in text_of(offer).lower() and "%" not in offer["subject"]
            assert "LUMEN-" not in text_of(offer)
    assert sorted(handed.values()) == sorted(pool)  # each code once
    for cart, code in handed.items():
        assert conn.execute("SELECT cart_id FROM ops.discount_codes WHERE code = %s", (code,)).fetchone() == (
            cart,
        )
    shown = {
        code for c in carts for m in messages(url, c) for code in re.findall(r"LUMEN-[A-Z0-9]{8}", text_of(m))
    }
    assert shown == pool  # no email shows a code the pool did not hold


def test_an_empty_pool_can_stop_the_offer_and_the_run_says_so(cart_env, warehouse_url, conn, monkeypatch):
    _, url, instance = cart_env
    monkeypatch.setenv("CART_RECOVERY_EMPTY_POOL", "skip")
    cart = f"c-{uuid.uuid4().hex[:8]}"
    runs = run_sequence(instance, warehouse_url, [cart])
    assert [r.status for r in runs[cart]] == ["sent", "sent", "skipped"]
    assert len(messages(url, cart)) == 2
    assert conn.execute(
        "SELECT status, detail FROM ops.recovery_outbox WHERE cart_id = %s AND step = 3", (cart,)
    ).fetchone() == ("skipped", "no_discount_code")
    run = instance.get_run_by_id(runs[cart][2].run_id)
    mats = [
        e
        for e in instance.all_logs(run.run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "STEP_OUTPUT"
    ]
    metadata = mats[0].dagster_event.event_specific_data.metadata
    assert metadata["offer"].value == "pool_empty_skipped"


def test_concurrent_claims_never_get_the_same_code(warehouse_url, conn):
    now = datetime.now(UTC)
    conn.execute(
        "INSERT INTO ops.discount_codes (code, expires_at, source) SELECT 'C-' || lpad(n::text, 3, '0'),"
        " CASE WHEN n %% 5 = 0 THEN %s END, 'test' FROM generate_series(1, 30) n",
        (now + timedelta(hours=2),),  # every fifth code expires too soon to be handed out
    )
    ids = [outbox.claim(conn, f"cart-{n}", 3, "r", now) for n in range(40)]
    barrier = threading.Barrier(8)
    got: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def worker(mine: list[int]) -> None:
        with psycopg.connect(warehouse_url) as c:
            barrier.wait()
            for outbox_id in mine:
                with c.transaction():
                    code = discount_codes.claim(c, outbox_id, f"cart-{outbox_id}", now)
                    c.execute("SELECT pg_sleep(0.005)")  # hold the row lock: claims overlap
                with lock:
                    got.append((outbox_id, code))

    threads = [threading.Thread(target=worker, args=(ids[k::8],)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = [c for _, c in got if c]
    assert len(got) == 40 and len(codes) == 24 and len(set(codes)) == 24  # 30 minus 6 expiring: each once
    assert all(int(c[2:]) % 5 for c in codes)
    bound = conn.execute(
        "SELECT count(*), count(DISTINCT outbox_id) FROM ops.discount_codes WHERE claimed_at IS NOT NULL"
    ).fetchone()
    assert bound == (24, 24)


def test_the_sandbox_pool_is_deterministic_and_seeding_is_idempotent(conn):
    assert sandbox_codes(3) == sandbox_codes(3) and len(set(sandbox_codes(500))) == 500
    assert seed_pool(conn, size=10) == 10 and seed_pool(conn, size=10) == 0


def test_a_refused_send_gives_its_code_back_to_the_next_offer(cart_env, warehouse_url, conn, monkeypatch):
    _, url, instance = cart_env
    seed_pool(conn, size=1, now=T)
    first, second = f"c-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}"
    record(warehouse_url, events(first, T, f"{first}@example.com"))
    record(warehouse_url, events(second, T + timedelta(hours=2), f"{second}@example.com"))
    cursor, statuses = None, {}
    for minutes in (31, 151, 24 * 60 + 1, 26 * 60 + 1, 48 * 60 + 1, 50 * 60 + 1):
        if minutes == 48 * 60 + 1:  # SendGrid unreachable for the first cart's offer: certainly not sent
            monkeypatch.setenv("SENDGRID_BASE_URL", "http://127.0.0.1:9")
        if minutes == 50 * 60 + 1:
            monkeypatch.setenv("SENDGRID_BASE_URL", url + "/sendgrid")
        cursor, runs = runner.advance(instance, T + timedelta(minutes=minutes), cursor)
        statuses.update({(r.cart_id, r.step): r.status for r in runs})
    assert statuses[(first, 3)] == "failed" and statuses[(second, 3)] == "sent"
    code = sandbox_codes(1)[0]
    rows = dict(
        conn.execute("SELECT cart_id, discount_code FROM ops.recovery_outbox WHERE step = 3").fetchall()
    )
    assert rows == {first: None, second: code}  # the one code went out once, to the second cart
    assert code in text_of(messages(url, second)[2])
