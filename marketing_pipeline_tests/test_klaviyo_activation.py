"""Klaviyo activation end to end: PostgreSQL -> sync assets -> client -> the sandbox's Klaviyo over HTTP."""

import json

import pytest

from marketing_pipeline.activation import model
from marketing_pipeline.activation.klaviyo.assets import (
    klaviyo_list_sync,
    klaviyo_order_event_sync,
    klaviyo_profile_sync,
    klaviyo_subscription_sync,
)
from marketing_pipeline.activation.klaviyo.config import DEFAULT_LIST_SEGMENTS, DEFAULT_LISTS
from marketing_pipeline.consent import suppress
from marketing_pipeline_tests.klaviyo_activation_support import (
    consent,
    history,
    klaviyo_profile,
    materialize,
    tiktok_order,
    website_order,
)


@pytest.fixture
def klaviyo(sandbox, warehouse_url):
    """(writes state, sandbox URL) with a clean Klaviyo account for this test."""
    box, url = sandbox
    writes = box.emulators["klaviyo"].writes
    writes.reset()
    yield writes, url
    writes.reset()  # the sandbox is shared: leave no lists or profiles behind for other tests


def no_nulls(value) -> bool:
    if isinstance(value, dict):
        return all(v is not None and no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(no_nulls(v) for v in value)
    return True


def sent_profiles(writes) -> list[dict]:
    return [
        p
        for method, name, body in writes.requests
        if name == "bulk_import_profiles"
        for p in body["data"]["attributes"]["profiles"]["data"]
    ]


def test_profiles_are_imported_once_and_only_changes_are_resent(klaviyo, conn):
    writes, url = klaviyo
    tiktok_order(conn, "T1", "ava.smith@example.com", "40.00", first="Ava", last="Smith", user_id="7001")
    tiktok_order(
        conn, "T2", "ava.smith@example.com", "60.00", first="Ava", last="Smith", user_id="7001", days_ago=3
    )
    tiktok_order(conn, "T3", "leo.chen@example.com", "25.00", first="Leo", last="", user_id="7002")
    website_order(conn, "W1", "mia.lee@example.com", "80.00")
    assert materialize(url, [klaviyo_profile_sync]).success

    first = sent_profiles(writes)
    assert sorted(p["attributes"]["email"] for p in first) == [
        "ava.smith@example.com",
        "leo.chen@example.com",
        "mia.lee@example.com",
    ]
    assert all(no_nulls(p) for p in first)  # a bulk import cannot set null: missing values are omitted
    leo = next(p for p in first if p["attributes"]["email"] == "leo.chen@example.com")
    assert "last_name" not in leo["attributes"]
    ava = writes.profiles[writes.by_email["ava.smith@example.com"]]
    assert ava["first_name"] == "Ava" and ava["properties"]["order_count"] == 2
    assert ava["properties"]["lifetime_revenue"] == 100.0 and ava["properties"]["tiktok_user_id"] == "7001"
    mapped = dict(conn.execute("SELECT email, profile_id FROM ops.klaviyo_profiles").fetchall())
    assert mapped == {e: writes.by_email[e] for e in mapped} and len(mapped) == 3
    assert history(conn)["profiles"][:6] == ("succeeded", 3, 3, 0, 0, 0)

    conn.execute("DELETE FROM ops.sync_history")
    assert materialize(url, [klaviyo_profile_sync]).success
    assert len(sent_profiles(writes)) == 3  # nothing changed: nothing sent
    assert history(conn)["profiles"][:6] == ("succeeded", 0, 0, 0, 3, 0)

    conn.execute("DELETE FROM ops.sync_history")
    tiktok_order(conn, "T4", "leo.chen@example.com", "30.00", first="Leo", last="Chen", user_id="7002")
    assert materialize(url, [klaviyo_profile_sync]).success
    assert [p["attributes"]["email"] for p in sent_profiles(writes)[3:]] == ["leo.chen@example.com"]
    assert writes.profiles[writes.by_email["leo.chen@example.com"]]["last_name"] == "Chen"
    assert history(conn)["profiles"][:6] == ("succeeded", 1, 0, 1, 2, 0)


def read_back_paths(emulator, start: int) -> list[str]:
    return [path for method, path, _ in emulator.requests[start:] if method == "GET" and "profiles" in path]


def test_profile_ids_are_read_back_by_email_or_from_the_job_when_not_found(
    klaviyo, sandbox, conn, monkeypatch
):
    writes, url = klaviyo
    emulator = sandbox[0].emulators["klaviyo"]
    tiktok_order(conn, "T1", "ava@example.com", "40.00")
    website_order(conn, "W1", "mia@example.com", "80.00")
    start = len(emulator.requests)
    assert materialize(url, [klaviyo_profile_sync]).success
    # one GET /api/profiles by email for both; the job's own relationship is not read
    assert read_back_paths(emulator, start) == ["/api/profiles"]

    conn.execute("TRUNCATE ops.klaviyo_profiles, ops.sync_history")
    writes.reset()
    real = emulator.written_profiles  # profiles Klaviyo has not made searchable yet: none found by email
    monkeypatch.setattr(emulator, "written_profiles", lambda emails=None: real() if emails is None else [])
    start = len(emulator.requests)
    assert materialize(url, [klaviyo_profile_sync]).success
    paths = read_back_paths(emulator, start)
    assert paths[0] == "/api/profiles" and paths[1].endswith("/profiles") and "bulk-import-jobs" in paths[1]
    mapped = dict(conn.execute("SELECT email, profile_id FROM ops.klaviyo_profiles").fetchall())
    assert mapped == {e: writes.by_email[e] for e in ("ava@example.com", "mia@example.com")}
    assert history(conn)["profiles"][:6] == ("succeeded", 2, 2, 0, 0, 0)  # each profile counted once


def test_bulk_job_rejects_are_recorded_with_reasons_and_not_retried(klaviyo, conn):
    writes, url = klaviyo
    tiktok_order(conn, "T1", "good@example.com", "40.00")
    tiktok_order(
        conn, "T2", "broken@example.c0m", "20.00"
    )  # a digit in the top-level domain: Klaviyo refuses it
    assert materialize(url, [klaviyo_profile_sync]).success

    rejects = conn.execute(
        "SELECT email, code, detail, pointer, original_payload FROM ops.klaviyo_import_rejects"
    ).fetchall()
    assert len(rejects) == 1
    email, code, detail, pointer, payload = rejects[0]
    assert email == "broken@example.c0m" and code == "invalid" and "Invalid email" in detail
    assert pointer.startswith("/data/attributes/profiles/data/") and payload["attributes"]["email"] == email
    status, sent, created, updated, skipped, failed, errors, finished = history(conn)["profiles"]
    assert (status, sent, created, failed, finished) == ("succeeded", 2, 1, 1, True)
    assert errors[0]["email"] == "broken@example.c0m" and "Invalid email" in errors[0]["detail"]
    assert "broken@example.c0m" not in writes.by_email
    jobs = len(writes.jobs)

    conn.execute("DELETE FROM ops.sync_history")
    assert materialize(url, [klaviyo_profile_sync]).success
    assert len(writes.jobs) == jobs  # the same rejected profile is not sent again
    assert history(conn)["profiles"][:6] == ("succeeded", 0, 0, 0, 2, 0)


def events_sent(writes) -> int:
    """Events the pipeline sent, one per create_event call or one per entry of a bulk job."""
    return sum(
        1
        if name == "create_event"
        else sum(
            len(g["attributes"]["events"]["data"])
            for g in body["data"]["attributes"]["events-bulk-create"]["data"]
        )
        for _, name, body in writes.requests
        if name in ("create_event", "bulk_create_events")
    )


def test_replayed_order_events_create_no_duplicates(klaviyo, conn):
    writes, url = klaviyo
    tiktok_order(conn, "T1", "ava@example.com", "40.00", lines=2)
    tiktok_order(conn, "T2", "ava@example.com", "15.00", days_ago=10)
    tiktok_order(conn, "T3", "leo@example.com", "25.00", status="CANCELLED")  # not a placed order
    tiktok_order(conn, "T4", None, "25.00", user_id="7999")  # no email: nobody to attach the event to
    website_order(conn, "W1", "mia@example.com", "80.00")
    assert materialize(url, [klaviyo_order_event_sync]).success
    assert sorted(e["unique_id"] for e in writes.events) == ["T1", "T2", "W1"]
    t1 = next(e for e in writes.events if e["unique_id"] == "T1")
    assert t1["metric"] == "Placed Order" and t1["value"] == 40.0 and t1["properties"]["ItemCount"] == 2
    assert t1["backfill"] is False
    assert next(e for e in writes.events if e["unique_id"] == "T2")["backfill"] is True  # old order: no flows
    assert history(conn)["order_events"][:6] == ("succeeded", 3, 3, 0, 0, 0)

    conn.execute("DELETE FROM ops.sync_history")
    assert materialize(url, [klaviyo_order_event_sync]).success  # a plain re-run sends nothing
    # one bulk job for the three, nothing resent
    assert writes.bulk_event_jobs == 1 and events_sent(writes) == 3
    assert history(conn)["order_events"][:6] == ("succeeded", 0, 0, 0, 3, 0)

    conn.execute("DELETE FROM ops.klaviyo_sent_events")  # memory lost: every order is sent again...
    assert materialize(url, [klaviyo_order_event_sync]).success
    assert events_sent(writes) == 6
    assert len(writes.events) == 3 and writes.duplicate_events == 3  # ...and Klaviyo drops the repeats


def test_order_events_can_start_from_a_recent_day(klaviyo, conn):
    writes, url = klaviyo
    tiktok_order(conn, "T-NEW", "ava@example.com", "40.00", days_ago=2)
    tiktok_order(conn, "T-OLD", "ava@example.com", "15.00", days_ago=40)
    config = {"ops": {"klaviyo_order_event_sync": {"config": {"since_days": 30}}}}
    assert materialize(url, [klaviyo_order_event_sync], run_config=config).success
    assert [e["unique_id"] for e in writes.events] == ["T-NEW"]
    assert materialize(url, [klaviyo_order_event_sync]).success  # without the bound: the older one too
    assert sorted(e["unique_id"] for e in writes.events) == ["T-NEW", "T-OLD"]


def segment_members(conn, segment: str) -> set[str]:
    return model.segment_emails(conn, segment, model.segments_as_of(conn))


def test_lists_are_the_marts_segments_and_follow_changes(klaviyo, conn):
    writes, url = klaviyo
    for n, days in enumerate((10, 40, 70)):  # 3 orders, 300 in the last 90 days: VIP
        tiktok_order(conn, f"V{n}", "vip@example.com", "100.00", days_ago=days)
    tiktok_order(conn, "T2", "active@example.com", "40.00", days_ago=5)
    tiktok_order(conn, "T3", "lapsed@example.com", "40.00", days_ago=200)
    tiktok_order(conn, "T4", "gone@example.com", "40.00", days_ago=5, status="CANCELLED")  # not a customer
    klaviyo_profile(conn, "P1", "new@example.com", subscribed_days_ago=2)
    consent(conn, "new@example.com", True, days_ago=2, source="klaviyo")
    klaviyo_profile(conn, "P2", "old@example.com", subscribed_days_ago=60)  # subscribed too long ago
    consent(conn, "old@example.com", True, days_ago=60, source="klaviyo")
    assert materialize(url, [klaviyo_profile_sync, klaviyo_list_sync]).success

    expected = {
        "All Customers": {"vip@example.com", "active@example.com", "lapsed@example.com"},
        "VIP": {"vip@example.com"},
        "Active": {"vip@example.com", "active@example.com"},
        "New Subscribers": {"new@example.com"},
    }
    for name in DEFAULT_LISTS:
        assert segment_members(conn, DEFAULT_LIST_SEGMENTS[name]) == expected[name], name
        assert writes.members(name) == expected[name], name
    assert sorted(lst["name"] for lst in writes.lists.values()) == sorted(DEFAULT_LISTS)
    status, sent, created, updated, *_ = history(conn)["lists"]
    assert (status, sent, created, updated) == ("succeeded", 7, 7, 0)

    # A cancellation drops VIP below three orders; a new subscriber and a buyer unsubscribe.
    conn.execute("UPDATE raw.tiktok_shop_orders SET status = 'CANCELLED' WHERE order_id = 'V0'")
    suppress(conn, "new@example.com", "klaviyo", "unsubscribed")
    suppress(conn, "active@example.com", "recovery_link", "unsubscribed")
    conn.execute("DELETE FROM ops.sync_history")
    assert materialize(url, [klaviyo_profile_sync, klaviyo_list_sync]).success
    for name in DEFAULT_LISTS:
        assert writes.members(name) == segment_members(conn, DEFAULT_LIST_SEGMENTS[name]), name
    assert writes.members("VIP") == set() and writes.members("New Subscribers") == set()
    assert writes.members("Active") == {"vip@example.com"}
    assert writes.members("All Customers") == {"vip@example.com", "lapsed@example.com"}
    status, sent, created, updated, *_ = history(conn)["lists"]
    assert (status, created, updated) == ("succeeded", 0, 4)  # VIP, New Subscribers, Active, All Customers
    assert len(writes.lists) == 4  # found by name, never created twice


def test_any_segment_can_be_a_list_and_a_suppressed_person_leaves_every_list(klaviyo, conn):
    writes, url = klaviyo
    for n, days in enumerate((10, 40, 70)):
        tiktok_order(conn, f"V{n}", "vip@example.com", "100.00", days_ago=days)
        tiktok_order(conn, f"R{n}", "rae@example.com", "20.00", days_ago=days)
    tiktok_order(conn, "L1", "lapsed@example.com", "40.00", days_ago=200)
    extra = {
        "ops": {"klaviyo_list_sync": {"config": {"extra_lists": {"Repeat": "repeat", "Lapsed": "lapsed"}}}}
    }
    assert materialize(url, [klaviyo_profile_sync, klaviyo_list_sync], run_config=extra).success
    lists_of = {name: writes.members(name) for name in [*DEFAULT_LISTS, "Repeat", "Lapsed"]}
    assert lists_of["Repeat"] == {"vip@example.com", "rae@example.com"}
    assert lists_of["Lapsed"] == {"lapsed@example.com"}
    assert {n for n, m in lists_of.items() if "vip@example.com" in m} == {
        "All Customers",
        "VIP",
        "Active",
        "Repeat",
    }

    suppress(conn, "vip@example.com", "sendgrid", "bounced")  # suppressed anywhere: in no list
    assert materialize(url, [klaviyo_profile_sync, klaviyo_list_sync], run_config=extra).success
    assert all("vip@example.com" not in writes.members(n) for n in lists_of)
    assert writes.members("Repeat") == {"rae@example.com"}

    bad = {"ops": {"klaviyo_list_sync": {"config": {"extra_lists": {"Nope": "no_such_segment"}}}}}
    result = materialize(url, [klaviyo_list_sync], run_config=bad, raise_on_error=False)
    assert not result.success  # an unknown segment name fails the sync, naming it
    assert "no_such_segment" in str(history(conn)["lists"][6])


def test_suppressed_profile_is_never_subscribed(klaviyo, conn):
    writes, url = klaviyo
    for n, email in enumerate(
        ["yes@example.com", "unsub@example.com", "tiktok@example.com", "no@example.com"]
    ):
        tiktok_order(conn, f"T{n}", email, "20.00")
    consent(conn, "yes@example.com", True)
    consent(conn, "unsub@example.com", True, days_ago=20)
    consent(conn, "no@example.com", True, days_ago=5)
    consent(conn, "no@example.com", False, days_ago=1)  # the latest answer wins
    suppress(conn, "unsub@example.com", "klaviyo", "unsubscribed")  # read from Klaviyo by the ingestion
    writes.suppress("unsub@example.com", "UNSUBSCRIBE")
    assert materialize(url, [klaviyo_profile_sync, klaviyo_subscription_sync]).success

    asked = {
        p["attributes"]["email"]
        for body in writes.subscription_jobs
        for p in body["data"]["attributes"]["profiles"]["data"]
    }
    assert asked == {"yes@example.com"}  # TikTok buyers without consent and the suppressed are never asked
    assert set(writes.subscribed) == {"yes@example.com"}
    assert writes.resubscribed == [] and writes.suppressed == {"unsub@example.com": "UNSUBSCRIBE"}
    body = writes.subscription_jobs[0]["data"]["attributes"]
    assert body["historical_import"] is True
    assert (
        body["profiles"]["data"][0]["attributes"]["subscriptions"]["email"]["marketing"]["consent"]
        == "SUBSCRIBED"
    )
    assert history(conn)["subscriptions"][:6] == ("succeeded", 1, 1, 0, 3, 0)

    # Later the subscribed person unsubscribes in Klaviyo: re-runs never subscribe them again.
    suppress(conn, "yes@example.com", "klaviyo", "unsubscribed")
    writes.suppress("yes@example.com", "UNSUBSCRIBE")
    conn.execute("DELETE FROM ops.klaviyo_subscriptions")  # even with our own record gone
    assert materialize(url, [klaviyo_subscription_sync]).success
    assert len(writes.subscription_jobs) == 1 and writes.resubscribed == []


def test_whole_activation_through_dagster_writes_one_history_row_per_sync(klaviyo, conn):
    writes, url = klaviyo
    tiktok_order(conn, "T1", "ava@example.com", "300.00")
    tiktok_order(conn, "T2", "bad@example.c0m", "20.00")
    website_order(conn, "W1", "mia@example.com", "30.00")
    consent(conn, "mia@example.com", True)
    result = materialize(url)
    assert result.success
    rows = history(conn)
    assert set(rows) == {"profiles", "order_events", "lists", "subscriptions"}
    assert all(r[0] == "succeeded" and r[-1] for r in rows.values())
    assert rows["profiles"][:6] == ("succeeded", 3, 2, 0, 0, 1)
    # The rejected address has no profile; its event is refused by Klaviyo and kept with the reason.
    assert rows["order_events"][:6] == ("succeeded", 2, 2, 0, 0, 1)
    assert "Invalid email" in rows["order_events"][6][0]["detail"]
    # the bulk job was refused whole for the bad address; the good events went again one by one
    assert writes.bulk_event_jobs == 0 and sorted(e["unique_id"] for e in writes.events) == ["T1", "W1"]
    dead = conn.execute(
        "SELECT reason, payload FROM ops.dead_letters WHERE source = 'klaviyo.events'"
    ).fetchall()
    assert len(dead) == 1 and json.loads(dead[0][1])["data"]["attributes"]["unique_id"] == "T2"
    assert rows["subscriptions"][:6] == ("succeeded", 1, 1, 0, 1, 0)
    mat = result.asset_materializations_for_node("klaviyo_profile_sync")[0]
    assert mat.metadata["failed"].value == 1 and mat.metadata["api_calls"].value >= 3
    run_ids = {r[0] for r in conn.execute("SELECT run_id FROM ops.sync_history")}
    assert run_ids == {result.run_id}


def test_a_failed_sync_is_recorded_as_failed(sandbox, warehouse_url, conn):
    _, url = sandbox
    tiktok_order(conn, "T1", "ava@example.com", "30.00")
    result = materialize(
        url, [klaviyo_order_event_sync], raise_on_error=False, api_key="pk_wrong_key", max_attempts=1
    )
    assert not result.success
    status, sent, *_, errors, finished = history(conn)["order_events"]
    assert status == "failed" and sent == 0 and finished
    assert "authentication" in errors[0]["detail"].lower()
    assert conn.execute("SELECT count(*) FROM ops.klaviyo_sent_events").fetchone()[0] == 0


def test_profiles_are_chunked_under_the_job_limits():
    from marketing_pipeline.activation.klaviyo.profiles import chunk_profiles, job_body
    from marketing_pipeline.activation.sync_history import SyncCounts

    rows = [
        (
            f"p{i}@example.com",
            json.dumps({"email": f"p{i}@example.com", "first_name": "x" * 200}),
            f"h{i}",
            False,
        )
        for i in range(50)
    ]
    rows.insert(
        7,
        (
            "huge@example.com",
            json.dumps({"email": "huge@example.com", "properties": {"n": "x" * 110_000}}),
            "hh",
            False,
        ),
    )
    rejected = []
    counts = SyncCounts()
    chunks = list(
        chunk_profiles(iter(rows), counts, lambda *a: rejected.append(a), max_profiles=20, max_bytes=4000)
    )
    assert [r[0] for r in rejected] == ["huge@example.com"] and counts.failed == 1  # over 100 KB: never sent
    assert sum(len(c.emails) for c in chunks) == 50
    assert all(len(c.emails) <= 20 and len(job_body(c).encode()) <= 4000 for c in chunks)
    assert [e for c in chunks for e in c.emails] == [r[0] for r in rows if r[0] != "huge@example.com"]


def test_profiles_deleted_in_klaviyo_are_forgotten_and_reimported(klaviyo, conn):
    writes, url = klaviyo
    tiktok_order(conn, "T1", "gone@example.com", "40.00", days_ago=5)
    tiktok_order(conn, "T2", "kept@example.com", "40.00", days_ago=5)
    assert materialize(url, [klaviyo_profile_sync, klaviyo_list_sync]).success
    gone = conn.execute(
        "SELECT profile_id FROM ops.klaviyo_profiles WHERE email = 'gone@example.com'"
    ).fetchone()[0]
    writes.delete_profile(gone)  # deleted in Klaviyo; our cache still has its id
    conn.execute("DELETE FROM ops.sync_history")
    assert materialize(url, [klaviyo_list_sync]).success  # a 404 on the batch does not fail the sync
    status, *_, failed = history(conn)["lists"][:6]
    assert status == "succeeded" and failed >= 1
    assert (
        conn.execute("SELECT count(*) FROM ops.klaviyo_profiles WHERE profile_id = %s", (gone,)).fetchone()[0]
        == 0
    )
    assert materialize(url, [klaviyo_profile_sync, klaviyo_list_sync]).success  # the next cycle heals
    assert writes.members("All Customers") == {"gone@example.com", "kept@example.com"}
