"""Marts segments as Customer.io person attributes: ``segment_<name>: true|false``.

The configured segments are read from ``marts.segment_members`` on the latest snapshot (the same
membership as the Klaviyo lists). Each person in any of them, or who was sent a ``true`` before,
gets all the configured attributes; only changed attribute sets are sent (``ops.customerio_segment_
attributes`` keeps the last one accepted). A suppressed person is identified only to leave every
synced segment (all ``false``, once, when sent a ``true`` before); Customer.io drops the call for
someone it suppressed itself.
"""

from __future__ import annotations

import json
from datetime import date

import psycopg

from marketing_pipeline import consent
from marketing_pipeline.activation import model
from marketing_pipeline.activation.sync_history import SyncCounts, recorded_sync
from marketing_pipeline.http import VendorError
from marketing_pipeline.sources.customerio.track import TrackClient, TrackPayloadError

DEFAULT_SEGMENTS = ("customer", "new_subscriber", "vip", "active", "at_risk", "lapsed")


def wanted_attributes(conn: psycopg.Connection, segments: list[str], as_of: date | None) -> dict[str, dict]:
    """email -> {segment_<name>: bool} for members of any segment and people sent a ``true`` before."""
    members = {s: model.segment_emails(conn, s, as_of) for s in segments}
    previous = {
        email
        for email, attrs in conn.execute("SELECT email, attributes FROM ops.customerio_segment_attributes")
        if any(attrs.values())
    }
    people = set().union(*members.values(), previous) if segments else previous
    blocked = consent.suppressed(conn, people)
    wanted = {
        email: {f"segment_{s}": email in members[s] for s in segments} for email in sorted(people - blocked)
    }
    for email in sorted(blocked & previous):  # suppressed: in no synced segment
        wanted[email] = {f"segment_{s}": False for s in segments}
    return wanted


def sync_segment_attributes(
    conn: psycopg.Connection, client: TrackClient, segments: list[str], run_id: str | None
) -> SyncCounts:
    """Identify each person whose attributes changed; ``conn`` autocommit (each acceptance recorded)."""
    unknown = sorted(set(segments) - model.known_segments(conn))
    if unknown:
        raise ValueError(f"unknown marts segments {unknown}")
    as_of = model.segments_as_of(conn)
    with recorded_sync(conn, "customerio", "segments", run_id) as counts:
        last = dict(conn.execute("SELECT email, attributes FROM ops.customerio_segment_attributes"))
        for email, attrs in wanted_attributes(conn, segments, as_of).items():
            if last.get(email) == attrs:
                counts.skipped += 1
                continue
            try:
                client.identify(email, {"email": email, **attrs})
            except (VendorError, TrackPayloadError) as exc:
                if isinstance(exc, VendorError) and exc.retryable:
                    raise
                counts.fail(email, str(exc))
                continue
            conn.execute(
                "INSERT INTO ops.customerio_segment_attributes (email, attributes) VALUES (%s, %s)"
                " ON CONFLICT (email) DO UPDATE SET attributes = EXCLUDED.attributes, synced_at = now()",
                (email, json.dumps(attrs)),
            )
            counts.sent += 1
            if email in last:
                counts.updated += 1
            else:
                counts.created += 1
        counts.extra["segments_as_of"] = str(as_of) if as_of else "none"
    return counts
