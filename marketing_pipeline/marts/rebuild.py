"""Every core table and mart in dependency order, in one transaction: for the bench, the tests
and anyone rebuilding by hand (Dagster runs the same SQL asset by asset)."""

from collections.abc import Callable
from datetime import date

import psycopg

from marketing_pipeline.marts import coverage, scope, sqlfiles
from marketing_pipeline.marts.assets import build_segments
from marketing_pipeline.settings import marts as config

ORDER = [
    "core_customers",
    "core_orders",
    "core_customer_names",
    "core_email_events",
    "core_sessions",
    "core_content_daily",
    "attribution",
    "channel_daily",
    "email_daily",
    "funnel_daily",
    "rfm",
    "cohorts",
]


def rebuild(
    conn: psycopg.Connection,
    first: date,
    last: date,
    *,
    segments_from: date | None = None,
    on_step: Callable[[str], None] | None = None,
    full: bool = False,
) -> dict[str, str]:
    """Coverage for [first, last], every table, and segment snapshots for [segments_from or last, last].

    Each table is rewritten only where its inputs changed since it was last built, unless ``full``
    (or a builder cannot tell what changed): then everything is rebuilt from the raw tables.
    Returns how each builder with a change plan ran: incremental or full.
    """
    sqlfiles.apply_settings(conn, config.gucs())
    if full:
        scope.forget(conn)
    modes = {}
    modes["source_coverage"] = coverage.refresh(conn, first, last)[1].split(":")[0]
    if on_step:
        on_step("source_coverage")
    for name in ORDER:
        used = sqlfiles.build(conn, name)
        if "mode" in used:
            modes[name] = used["mode"]
        if on_step:
            on_step(name)
    build_segments(conn, segments_from or last, last)
    if on_step:
        on_step("customer_segments")
    return modes
