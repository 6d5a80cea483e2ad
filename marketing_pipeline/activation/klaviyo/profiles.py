"""Warehouse customers -> Klaviyo profiles through bulk import jobs.

Only new or changed profiles are sent (a hash of the attributes last accepted is kept in
``ops.klaviyo_profiles``). Attributes are built in SQL with nulls stripped: a bulk import cannot
set a null, so a missing value is omitted rather than sent. Jobs respect Klaviyo's limits
(10,000 profiles and 5 MB per job, 100 KB per profile); each job is polled until complete, its
import errors are stored in ``ops.klaviyo_import_rejects`` with Klaviyo's reasons, and a
rejected profile is not sent again until its attributes change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import psycopg

from marketing_pipeline.activation import model
from marketing_pipeline.activation.klaviyo import limits
from marketing_pipeline.activation.sync_history import SyncCounts

# One row per person: every customer with an order and an email, and everyone whose latest email
# consent is a yes; counts, revenue and segment as the marts define them.
PEOPLE_SQL = f"""
WITH orders AS ({model.ORDERS_SQL}
), buyers AS (
    SELECT email, min(first_name) AS first_name, min(last_name) AS last_name,
           min(tiktok_user_id) AS tiktok_user_id,
           count(*) FILTER (WHERE counted) AS order_count,
           round(coalesce(sum(net_revenue) FILTER (WHERE counted), 0), 2) AS lifetime_revenue,
           min(created_at) FILTER (WHERE counted) AS first_order_at,
           max(created_at) FILTER (WHERE counted) AS last_order_at,
           array_agg(DISTINCT channel ORDER BY channel) AS channels
    FROM orders
    GROUP BY email
), consented AS (
    SELECT email FROM (
        SELECT DISTINCT ON (email) email, consented FROM ops.consent
        WHERE channel = 'email' ORDER BY email, recorded_at DESC
    ) latest WHERE consented
), segments AS (
    SELECT DISTINCT ON (c.email) c.email, s.segment, s.lifecycle
    FROM marts.customer_segments s JOIN core.customers c USING (customer_id)
    WHERE s.as_of = %(as_of)s AND c.email IS NOT NULL
    ORDER BY c.email, s.customer_id
), people AS (
    SELECT coalesce(b.email, c.email) AS email, b.first_name, b.last_name, b.tiktok_user_id, b.order_count,
           b.lifetime_revenue, b.first_order_at, b.last_order_at, b.channels
    FROM buyers b FULL JOIN consented c ON c.email = b.email
), attrs AS (
    SELECT p.email, jsonb_strip_nulls(jsonb_build_object(
        'email', p.email, 'first_name', p.first_name, 'last_name', p.last_name,
        'properties', jsonb_build_object(
            'tiktok_user_id', p.tiktok_user_id, 'order_count', p.order_count,
            'lifetime_revenue', p.lifetime_revenue,
            'first_order_at', to_char(p.first_order_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
            'last_order_at', to_char(p.last_order_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
            'channels', to_jsonb(p.channels), 'segment', g.segment, 'lifecycle', g.lifecycle))) AS attributes
    FROM people p LEFT JOIN segments g ON g.email = p.email
)
SELECT a.email, a.attributes::text, md5(a.attributes::text) AS hash, k.email IS NOT NULL AS known,
       (k.attributes_hash = md5(a.attributes::text)) AS unchanged,
       EXISTS (SELECT 1 FROM ops.klaviyo_import_rejects r
               WHERE r.email = a.email AND r.attributes_hash = md5(a.attributes::text)) AS rejected_before
FROM attrs a LEFT JOIN ops.klaviyo_profiles k ON k.email = a.email
ORDER BY a.email
"""


@dataclass
class Chunk:
    """One import job's profiles: their emails in request order, hashes, and whether Klaviyo knew them."""

    emails: list[str] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)
    known: set[str] = field(default_factory=set)
    resources: list[str] = field(default_factory=list)  # serialised profile resources
    size: int = 0


ENVELOPE = len('{"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":[]}}}}')


def chunk_profiles(
    rows: Iterable[tuple[str, str, str, bool]],
    counts: SyncCounts,
    reject_local: Callable[[str, str, str], None],
    max_profiles: int = limits.MAX_PROFILES_PER_IMPORT,
    max_bytes: int = limits.MAX_IMPORT_BYTES,
) -> Iterator[Chunk]:
    """Group profiles into jobs under both limits; a profile over 100 KB is rejected here, not sent."""
    chunk = Chunk()
    for email, attributes, digest, known in rows:
        resource = f'{{"type":"profile","attributes":{attributes}}}'
        size = len(resource.encode())
        if size > limits.MAX_PROFILE_BYTES:
            reject_local(email, digest, f"profile is {size} bytes; Klaviyo accepts at most 100KB per profile")
            counts.failed += 1
            continue
        if chunk.emails and (
            len(chunk.emails) >= max_profiles or ENVELOPE + chunk.size + size + 1 > max_bytes
        ):
            yield chunk
            chunk = Chunk()
        chunk.emails.append(email)
        chunk.hashes[email] = digest
        if known:
            chunk.known.add(email)
        chunk.resources.append(resource)
        chunk.size += size + 1
    if chunk.emails:
        yield chunk


def job_body(chunk: Chunk) -> str:
    return (
        '{"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":['
        + ",".join(chunk.resources)
        + "]}}}}"
    )


class ImportJobFailed(RuntimeError):
    pass


def wait_for_job(
    client, job_id: str, interval: float, timeout: float, sleep: Callable[[float], None] = time.sleep
) -> dict:
    """Poll a job until it is complete (or cancelled); its attributes. Waits double up to 30 s."""
    deadline = time.monotonic() + timeout
    while True:
        doc = client.jsonapi("GET", f"/api/profile-bulk-import-jobs/{job_id}")
        attributes = doc["data"]["attributes"]
        if attributes["status"] in ("complete", "cancelled"):
            return attributes
        if time.monotonic() + interval > deadline:
            raise ImportJobFailed(
                f"Klaviyo import job {job_id} still {attributes['status']} after {timeout:.0f}s"
            )
        sleep(interval)
        interval = min(interval * 2, 30.0)


def _items(client, path: str) -> Iterator[dict]:
    for page in client.pages(path, {"page[size]": limits.PAGE_SIZE}):
        yield from page.get("data") or []


MAX_FILTER_CHARS = 4000  # keeps a GET's URL well under the 8 KB most servers accept


def _email_groups(emails: list[str]) -> Iterator[list[str]]:
    group: list[str] = []
    size = 0
    for email in emails:
        if group and (len(group) == limits.PAGE_SIZE or size + len(email) + 3 > MAX_FILTER_CHARS):
            yield group
            group, size = [], 0
        group.append(email)
        size += len(email) + 3
    if group:
        yield group


def job_profiles(client, job_id: str, emails: list[str]) -> Iterator[dict]:
    """The profiles (id and email) an import job wrote.

    Read from ``GET /api/profiles`` by email, 100 a call: the same profiles the job's own
    ``/profiles`` relationship pages through, at that endpoint's 750/min instead of 150/min (the
    readback was most of a first sync's time). The relationship is read instead when an email
    cannot be quoted in a filter, and afterwards when an email was not found (a profile Klaviyo
    has not made searchable yet); a profile can then come twice.
    """
    relationship = f"/api/profile-bulk-import-jobs/{job_id}/profiles"
    if any('"' in e or "\\" in e for e in emails):
        yield from _items(client, relationship)
        return
    found: set[str] = set()
    for group in _email_groups(emails):
        quoted = ",".join(f'"{e}"' for e in group)
        params = {
            "filter": f"any(email,[{quoted}])",
            "fields[profile]": "email",
            "page[size]": limits.PAGE_SIZE,
        }
        for page in client.pages("/api/profiles", params):
            for profile in page.get("data") or []:
                found.add(((profile.get("attributes") or {}).get("email") or "").strip().lower())
                yield profile
    if set(emails) - found:  # not found by email (not yet searchable?): the job's own list is authoritative
        yield from _items(client, relationship)


def _email_of_error(error: dict, chunk: Chunk) -> str | None:
    attributes = error.get("attributes") or {}
    payload = attributes.get("original_payload") or {}
    email = (payload.get("attributes") or {}).get("email") if isinstance(payload, dict) else None
    if email:
        return str(email).strip().lower()
    pointer = ((attributes.get("source") or {}).get("pointer") or "").split("/")
    # /data/attributes/profiles/data/<index>/... names the profile by its place in the request
    if len(pointer) > 5 and pointer[5].isdigit() and int(pointer[5]) < len(chunk.emails):
        return chunk.emails[int(pointer[5])]
    return None


def send_chunk(client, chunk: Chunk) -> str:
    # The body is assembled from SQL-built JSON; jsonapi takes a Python object, so parse it once.
    doc = client.jsonapi("POST", "/api/profile-bulk-import-jobs", json=json.loads(job_body(chunk)))
    return doc["data"]["id"]


def settle_job(
    conn: psycopg.Connection,
    client,
    job_id: str,
    chunk: Chunk,
    attributes: dict,
    counts: SyncCounts,
    run_id: str | None,
) -> None:
    """Record a finished job: its rejects with reasons, and the profile ids of what it accepted."""
    rejected: set[str] = set()
    for error in _items(client, f"/api/profile-bulk-import-jobs/{job_id}/import-errors"):
        a = error.get("attributes") or {}
        email = _email_of_error(error, chunk)
        rejected.add(email)
        conn.execute(
            "INSERT INTO ops.klaviyo_import_rejects (job_id, error_id, email, attributes_hash, code, title, detail,"
            " pointer, original_payload, run_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (
                job_id,
                error.get("id"),
                email,
                chunk.hashes.get(email),
                a.get("code") or "unknown",
                a.get("title"),
                a.get("detail") or a.get("title") or "no detail given",
                (a.get("source") or {}).get("pointer"),
                psycopg.types.json.Jsonb(a.get("original_payload")) if a.get("original_payload") else None,
                run_id,
            ),
        )
        counts.failed += 1
        counts.error(email=email, code=a.get("code"), detail=a.get("detail"), job_id=job_id)
    found: dict[str, tuple] = {}
    for profile in job_profiles(client, job_id, [e for e in chunk.emails if e not in rejected]):
        email = ((profile.get("attributes") or {}).get("email") or "").strip().lower()
        if email in chunk.hashes and email not in rejected:
            found.setdefault(email, (email, profile["id"], chunk.hashes[email], job_id))
    accepted = list(found.values())
    with conn.transaction():
        with conn.pipeline():  # the same statements in order, without a round trip each
            for row in accepted:
                # An email can move to another profile id (a merge): the old row for that id gives way.
                conn.execute(
                    "DELETE FROM ops.klaviyo_profiles WHERE profile_id = %s AND email <> %s", (row[1], row[0])
                )
                conn.execute(
                    "INSERT INTO ops.klaviyo_profiles (email, profile_id, attributes_hash, import_job_id)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (email) DO UPDATE SET profile_id = EXCLUDED.profile_id,"
                    " attributes_hash = EXCLUDED.attributes_hash, import_job_id = EXCLUDED.import_job_id,"
                    " synced_at = now()",
                    row,
                )
        conn.execute(
            "UPDATE ops.klaviyo_import_jobs SET status = %s, completed_count = %s, failed_count = %s,"
            " finished_at = now() WHERE job_id = %s",
            (attributes["status"], attributes.get("completed_count"), attributes.get("failed_count"), job_id),
        )
    counts.created += sum(1 for e, *_ in accepted if e not in chunk.known)
    counts.updated += sum(1 for e, *_ in accepted if e in chunk.known)
    if attributes["status"] == "cancelled":
        missing = len(chunk.emails) - len(accepted) - len(rejected)
        counts.failed += missing
        counts.error(job_id=job_id, detail=f"job cancelled by Klaviyo; {missing} profiles not imported")


def sync_profiles(
    conn: psycopg.Connection,
    client,
    run_id: str | None,
    counts: SyncCounts,
    poll_interval: float = 2.0,
    poll_timeout: float = 1800.0,
) -> None:
    """Send new and changed profiles. ``conn`` is autocommit: each job's results commit on their own."""
    as_of = model.segments_as_of(conn)
    counts.extra["segments_as_of"] = str(as_of) if as_of else "none"

    def reject_local(email: str, digest: str, detail: str) -> None:
        conn.execute(
            "INSERT INTO ops.klaviyo_import_rejects (job_id, error_id, email, attributes_hash, code, title, detail,"
            " run_id) VALUES ('local', %s, %s, %s, 'too_large', 'Profile too large', %s, %s) ON CONFLICT DO NOTHING",
            (f"{email}:{digest}", email, digest, detail, run_id),
        )
        counts.error(email=email, code="too_large", detail=detail)

    def changed() -> Iterator[tuple[str, str, str, bool]]:
        with conn.cursor(name="klaviyo_profiles", withhold=True) as cur:
            cur.itersize = 2000
            cur.execute(PEOPLE_SQL, {"as_of": as_of})
            for email, attributes, digest, known, unchanged, rejected_before in cur:
                if unchanged or rejected_before:
                    counts.skipped += 1
                    continue
                yield email, attributes, digest, known

    pending: list[tuple[str, Chunk]] = []
    for chunk in chunk_profiles(changed(), counts, reject_local):
        job_id = send_chunk(client, chunk)
        conn.execute(
            "INSERT INTO ops.klaviyo_import_jobs (job_id, status, total_count, run_id)"
            " VALUES (%s, 'queued', %s, %s)",
            (job_id, len(chunk.emails), run_id),
        )
        counts.sent += len(chunk.emails)
        chunk.resources, chunk.size = [], 0  # sent: keep only what settling the job needs
        pending.append((job_id, chunk))
    for job_id, chunk in pending:
        attributes = wait_for_job(client, job_id, poll_interval, poll_timeout)
        settle_job(conn, client, job_id, chunk, attributes, counts, run_id)
    counts.extra["jobs"] = len(pending)
