"""Klaviyo lists kept equal to marts segments (``config.DEFAULT_LIST_SEGMENTS`` plus any configured).

Membership is ``marts.segment_members`` on the latest snapshot day (``activation.model``): All
Customers = customer, New Subscribers = new_subscriber, VIP = vip, Active = active; thresholds are
the ``MARTS_*`` settings, defined once in ``sql/marts/customer_segments.sql``. Suppressed people
(any source) are members of no list.

Each run reads the list's current members from Klaviyo, so the diff is against what Klaviyo
holds (not what we believe we sent): members the segment no longer selects are removed, missing
ones added, in calls of at most 1,000 profiles. Only people with a Klaviyo profile id (synced
by the profile sync) can be members; the others are counted as skipped.
"""

from __future__ import annotations

from datetime import date

import psycopg

from marketing_pipeline.activation import model
from marketing_pipeline.activation.klaviyo import limits
from marketing_pipeline.activation.klaviyo.config import ListConfig
from marketing_pipeline.activation.sync_history import SyncCounts
from marketing_pipeline.sources.klaviyo.client import KlaviyoError


def membership_params(segment: str, as_of: date | None) -> dict:
    return {"segment": segment, "as_of": as_of}


def ensure_lists(conn: psycopg.Connection, client, names) -> dict[str, str]:
    """The id of each list, creating the missing ones (found by name first, never duplicated)."""
    existing: dict[str, str] = {}
    for page in client.pages("/api/lists", {}):
        for item in page.get("data") or []:
            existing.setdefault(item["attributes"].get("name"), item["id"])
    ids = {}
    for name in names:
        list_id = existing.get(name)
        if list_id is None:
            doc = client.jsonapi(
                "POST", "/api/lists", json={"data": {"type": "list", "attributes": {"name": name}}}
            )
            list_id = doc["data"]["id"]
        conn.execute(
            "INSERT INTO ops.klaviyo_lists (name, list_id) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET list_id = EXCLUDED.list_id",
            (name, list_id),
        )
        ids[name] = list_id
    return ids


def _batches(items: list[str], size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def sync_list(
    conn: psycopg.Connection, client, name: str, list_id: str, params: dict, counts: SyncCounts
) -> dict:
    """Add and remove members of one list so it equals its segment; returns per-list numbers."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS klaviyo_list_current (profile_id text PRIMARY KEY)")
    conn.execute("TRUNCATE klaviyo_list_current")
    with conn.cursor().copy("COPY klaviyo_list_current (profile_id) FROM STDIN") as copy:
        for page in client.pages(
            f"/api/lists/{list_id}/relationships/profiles", {"page[size]": limits.PAGE_SIZE}
        ):
            for ref in page.get("data") or []:
                copy.write_row((ref["id"],))
    wanted = f"""
        SELECT w.email, p.profile_id FROM ({model.SEGMENT_EMAILS_SQL}) w
        LEFT JOIN ops.klaviyo_profiles p ON p.email = w.email"""
    without_profile = conn.execute(
        f"SELECT count(*) FROM ({wanted}) x WHERE profile_id IS NULL", params
    ).fetchone()[0]
    to_add = [
        r[0]
        for r in conn.execute(
            f"SELECT DISTINCT profile_id FROM ({wanted}) x WHERE profile_id IS NOT NULL AND profile_id NOT IN"
            " (SELECT profile_id FROM klaviyo_list_current) ORDER BY 1",
            params,
        )
    ]
    to_remove = [
        r[0]
        for r in conn.execute(
            f"SELECT profile_id FROM klaviyo_list_current WHERE profile_id NOT IN"
            f" (SELECT profile_id FROM ({wanted}) x WHERE profile_id IS NOT NULL) ORDER BY 1",
            params,
        )
    ]
    path = f"/api/lists/{list_id}/relationships/profiles"
    unknown = 0
    for batch in _batches(to_add, limits.MAX_LIST_MEMBERS_PER_CALL):
        try:
            client.jsonapi("POST", path, json={"data": [{"type": "profile", "id": pid} for pid in batch]})
        except KlaviyoError as exc:
            if exc.status != 404:
                raise
            # Klaviyo no longer has some of these profiles (deleted there): forget the batch's ids so the
            # next profile sync imports them again, and the list sync after it adds them.
            conn.execute("DELETE FROM ops.klaviyo_profiles WHERE profile_id = ANY(%s)", (batch,))
            counts.fail(
                f"{name}: {len(batch)} profiles", f"not found in Klaviyo, re-imported next sync: {exc}"
            )
            unknown += len(batch)
    for batch in _batches(to_remove, limits.MAX_LIST_MEMBERS_PER_CALL):
        client.jsonapi("DELETE", path, json={"data": [{"type": "profile", "id": pid} for pid in batch]})
    size = (
        conn.execute("SELECT count(*) FROM klaviyo_list_current").fetchone()[0] + len(to_add) - len(to_remove)
    )
    counts.sent += len(to_add) + len(to_remove)
    counts.created += len(to_add) - unknown
    counts.updated += len(to_remove)
    counts.skipped += without_profile
    return {
        "added": len(to_add) - unknown,
        "removed": len(to_remove),
        "size": size - unknown,
        "without_profile": without_profile,
    }


def sync_lists(
    conn: psycopg.Connection, client, counts: SyncCounts, config: ListConfig, as_of: date | None = None
) -> dict[str, dict]:
    """Keep every configured list in step. In ``ops.sync_history``: created = added, updated = removed."""
    lists = config.all_lists()
    unknown = sorted(set(lists.values()) - model.known_segments(conn))
    if unknown:
        raise ValueError(f"unknown marts segments {unknown}; known: {sorted(model.known_segments(conn))}")
    snapshot = model.segments_as_of(conn, as_of)
    if snapshot is None:
        raise ValueError("marts.customer_segments has no snapshot yet: materialize customer_segments first")
    ids = ensure_lists(conn, client, lists)
    result = {
        name: sync_list(conn, client, name, ids[name], membership_params(segment, snapshot), counts)
        for name, segment in lists.items()
    }
    counts.extra["segments_as_of"] = str(snapshot)
    counts.extra.update({f"{name} size": r["size"] for name, r in result.items()})
    return result
