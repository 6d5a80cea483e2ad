"""What a builder rewrites: everything, or only what changed since it last ran.

Triggers (migration 110) or the loaders (the order tables, migration 220) log the raw days every
load touches (``marts.changed_days``); the core builders log the days they changed in turn. A builder that has run before, under the same settings
and sources, reads the log rows it has not seen and rewrites only those days (and, for customers,
only the people those days touch). Otherwise, or when a whole table changed, it rebuilds in full.
Both paths run the same ``sql/marts`` files: the mode is the ``marts.incremental`` setting, and the
rows a source part reads come through temporary views ``refresh_<raw table>`` (the whole table in
a full rebuild, the changed days otherwise), so the incremental result is the full one's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import psycopg


@dataclass(frozen=True)
class View:
    name: str  # refresh_<name>
    table: str
    key: str  # scope_days key its rows are filtered by ('' = by scope_deliveries)
    column: str = "partition_date"


@dataclass(frozen=True)
class Plan:
    inputs: dict[str, tuple[str, ...]]  # scope key -> log tables whose changed days it takes
    views: tuple[View, ...] = ()
    logs: str | None = None  # the table this builder logs its changed days under
    # key -> tables any change of which (or its inputs changing as a whole) rewrites all of the key
    whole: dict[str, tuple[str, ...]] = field(default_factory=dict)


PLANS: dict[str, Plan] = {
    "core_customers": Plan(
        inputs={
            "tiktok_shop": ("raw.tiktok_shop_orders",),
            "website": ("raw.website_orders",),
            "customerio": ("raw.customerio_deliveries",),
            "klaviyo": ("raw.klaviyo_profiles",),
            "core": ("core.customer_keys",),
        },
        views=(
            View("tiktok_shop_orders", "raw.tiktok_shop_orders", "tiktok_shop"),
            View("website_orders", "raw.website_orders", "website"),
            View("customerio_deliveries", "raw.customerio_deliveries", "customerio"),
            View("klaviyo_profiles", "raw.klaviyo_profiles", "klaviyo"),
        ),
    ),
    "core_orders": Plan(
        inputs={
            "tiktok_shop": ("raw.tiktok_shop_orders", "raw.tiktok_shop_order_lines"),
            "website": ("raw.website_orders", "raw.website_order_lines"),
            "klaviyo": ("raw.klaviyo_orders", "raw.klaviyo_order_lines"),
            "core": ("core.customer_keys",),
        },
        views=(
            View("tiktok_shop_orders", "raw.tiktok_shop_orders", "tiktok_shop"),
            View("tiktok_shop_order_lines", "raw.tiktok_shop_order_lines", "tiktok_shop"),
            View("website_orders", "raw.website_orders", "website"),
            View("website_order_lines", "raw.website_order_lines", "website"),
        ),
        logs="core.orders",
        # a profile's email or phone is its orders': every order only Klaviyo knows is staged again
        whole={"klaviyo": ("raw.klaviyo_profiles",)},
    ),
    "core_email_events": Plan(
        inputs={
            "klaviyo": ("raw.klaviyo_events",),
            "customerio": ("raw.customerio_deliveries",),
            "core": ("core.customer_keys",),
        },
        views=(
            View("klaviyo_events", "raw.klaviyo_events", "klaviyo"),
            View("customerio_deliveries", "raw.customerio_deliveries", ""),
        ),
        logs="core.email_events",
        whole={
            "klaviyo": (
                "raw.klaviyo_profiles",
                "raw.klaviyo_campaigns",
                "raw.klaviyo_campaign_messages",
                "raw.klaviyo_flows",
            ),
            "customerio": ("raw.customerio_campaigns",),
        },
    ),
    "attribution": Plan(
        inputs={"day": ("core.orders",), "email": ("core.email_events",)}, logs="marts.attribution"
    ),
    # RFM redoes the snapshots dated on or after a day core.orders changed (sql/marts/rfm.sql).
    "rfm": Plan(inputs={"day": ("core.orders",)}),
    "channel_daily": Plan(
        inputs={"day": ("core.orders",)}, views=(View("orders", "core.orders", "day", "order_date"),)
    ),
    "email_daily": Plan(
        inputs={"day": ("core.email_events", "marts.attribution")},
        views=(
            View("email_events", "core.email_events", "day", "event_date"),
            View("attribution", "marts.attribution", "day", "order_date"),
        ),
    ),
    # Row counts per source and day: each source's changed days are counted again (carts, without a
    # change log, are counted whole); the days whose status changed are logged for funnel_daily.
    "source_coverage": Plan(
        inputs={
            "tiktok_shop": ("raw.tiktok_shop_orders",),
            "website": ("raw.website_orders",),
            "customerio": ("raw.customerio_deliveries",),
            "klaviyo": ("raw.klaviyo_events",),
            "ga4": ("raw.ga4_traffic_daily",),
            "tiktok_content": ("raw.tiktok_content_daily",),
        },
        logs="marts.source_coverage",
    ),
    # refresh_website_orders is core_customer_names_stage.sql's (by order id: these days are order days)
    "core_customer_names": Plan(
        inputs={"day": ("core.orders",)}, views=(View("tiktok_shop_orders", "raw.tiktok_shop_orders", "day"),)
    ),
    "core_sessions": Plan(
        inputs={"day": ("raw.ga4_traffic_daily",)},
        views=(View("ga4_traffic_daily", "raw.ga4_traffic_daily", "day"),),
        logs="core.sessions",
    ),
    "core_content_daily": Plan(
        inputs={"day": ("raw.tiktok_content_daily",)},
        views=(View("tiktok_content_daily", "raw.tiktok_content_daily", "day"),),
        logs="core.content_daily",
    ),
    "funnel_daily": Plan(
        inputs={"day": ("core.orders", "core.sessions", "core.content_daily", "marts.source_coverage")}
    ),
}

_STATE = """
SELECT pg_current_snapshot()::text, pg_current_xact_id()::text,
       (SELECT coalesce(json_agg(json_build_array(c.tbl, c.day::text)), '[]')
        FROM (SELECT DISTINCT c.tbl, c.day FROM marts.changed_days c
              WHERE c.tbl = ANY(%(tables)s)
                AND NOT (pg_visible_in_snapshot(c.xact, s.snap) OR c.xact = s.xact)) c)
FROM (SELECT %(snap)s::pg_snapshot AS snap, %(xact)s::xid8 AS xact) s
"""


@dataclass
class Scope:
    target: str
    incremental: bool
    snap: str
    xact: str
    settings: str
    reason: str  # why full, or what changed


def _settings(gucs: dict[str, str], present: set[str]) -> str:
    return hashlib.md5(json.dumps([sorted(gucs.items()), sorted(present)]).encode()).hexdigest()  # noqa: S324 (a fingerprint)


def _all_logged(conn: psycopg.Connection, tables: list[str]) -> bool:
    """Whether the change-log triggers are on every raw table of ``tables`` (a table recreated
    without them is not), in one statement."""
    return conn.execute(
        "SELECT coalesce(bool_and(to_regclass(t) IS NULL OR EXISTS (SELECT 1 FROM pg_trigger"
        " WHERE tgrelid = to_regclass(t) AND tgname IN ('marts_log_ins', 'marts_log_whole', 'marts_log_all'))), true)"
        " FROM unnest(%s::text[]) AS t WHERE t LIKE 'raw.%%'",
        (tables,),
    ).fetchone()[0]


def begin(conn: psycopg.Connection, target: str, gucs: dict[str, str], present: set[str]) -> Scope | None:
    """Decide full or incremental for ``target`` and prepare its scope; None for builders without a plan.
    ``present``: the sources present (``sources.present_names``), which the caller reads once for both."""
    plan = PLANS.get(target)
    if plan is None:
        conn.execute("SELECT set_config('marts.incremental', 'off', true)")
        return None
    settings = _settings(gucs, present)
    state = conn.execute(
        "SELECT snap::text, xact::text, settings FROM marts.refresh_state WHERE target = %s FOR UPDATE",
        (target,),
    ).fetchone()
    tables = sorted({t for ts in (*plan.inputs.values(), *plan.whole.values()) for t in ts})
    snap, xact, rows = conn.execute(
        _STATE, {"tables": tables, "snap": state[0] if state else "1:1:", "xact": state[1] if state else "0"}
    ).fetchone()
    changed: dict[str, set[str]] = {}
    for tbl, day in rows:
        changed.setdefault(tbl, set()).add(day)
    reason = ""
    if state is None:
        reason = "first build"
    elif state[2] != settings:
        reason = "settings or sources changed"
    elif not _all_logged(conn, tables):
        reason = "a raw table has no change log"
    else:
        for key, ts in plan.inputs.items():
            if key in plan.whole:
                continue
            if any("infinity" in changed.get(t, ()) for t in ts):
                reason = f"{', '.join(t for t in ts if 'infinity' in changed.get(t, ()))} changed as a whole"
    scope = Scope(target, not reason, snap, xact, settings, reason)
    _prepare(conn, plan, scope, changed)
    return scope


def _prepare(conn: psycopg.Connection, plan: Plan, scope: Scope, changed: dict[str, set[str]]) -> None:
    conn.execute("SELECT set_config('marts.incremental', %s, true)", ("on" if scope.incremental else "off",))
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS scope_days (key text NOT NULL, day date NOT NULL)")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS scope_whole (key text PRIMARY KEY)")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS scope_changed (day date NOT NULL)")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS scope_deliveries (delivery_id text NOT NULL)")
    conn.execute("TRUNCATE scope_days, scope_whole, scope_changed, scope_deliveries")
    whole: list[str] = []
    if scope.incremental:
        for key, ts in plan.inputs.items():
            days = sorted({d for t in ts for d in changed.get(t, ()) if d != "infinity"})
            if days:
                conn.execute("INSERT INTO scope_days SELECT %s, d FROM unnest(%s::date[]) d", (key, days))
        whole = [
            key
            for key, ts in plan.whole.items()
            if any(changed.get(t) for t in ts)
            or any("infinity" in changed.get(t, ()) for t in plan.inputs[key])
        ]
        for key in whole:
            conn.execute("INSERT INTO scope_whole VALUES (%s)", (key,))
        conn.execute("ANALYZE scope_days")
        n = conn.execute("SELECT count(*) FROM scope_days").fetchone()[0]
        scope.reason = f"{n} changed source days"
    for view in plan.views:
        if conn.execute("SELECT to_regclass(%s) IS NULL", (view.table,)).fetchone()[0]:
            continue
        if not scope.incremental or view.key in whole:
            where = ""
        elif view.key:  # the days as constants: the planner then reads them through the day index
            days = sorted({d for t in plan.inputs[view.key] for d in changed.get(t, ()) if d != "infinity"})
            where = f" WHERE {view.column} = ANY('{{{','.join(days)}}}'::date[])"
        else:  # Customer.io deliveries for the email events: by delivery id (see core_email_events_stage.sql)
            where = " WHERE delivery_id IN (SELECT delivery_id FROM scope_deliveries)"
        conn.execute(f"CREATE OR REPLACE TEMP VIEW refresh_{view.name} AS SELECT * FROM {view.table}{where}")


def forget(conn: psycopg.Connection) -> None:
    """The next build of every builder is a full rebuild (RFM recomputes every snapshot too)."""
    conn.execute("DELETE FROM marts.refresh_state")
    conn.execute("DELETE FROM marts.rfm_snapshots")


def finish(conn: psycopg.Connection, scope: Scope | None) -> None:
    """Remember what was handled, log this builder's changed days, forget log rows every builder saw."""
    if scope is None:
        return
    plan = PLANS[scope.target]
    if plan.logs:
        if scope.incremental:
            conn.execute(
                "INSERT INTO marts.changed_days (tbl, day) SELECT DISTINCT %s, day FROM scope_changed",
                (plan.logs,),
            )
        else:
            conn.execute("INSERT INTO marts.changed_days (tbl, day) VALUES (%s, 'infinity')", (plan.logs,))
    conn.execute(
        "INSERT INTO marts.refresh_state (target, snap, xact, settings) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (target) DO UPDATE SET snap = excluded.snap, xact = excluded.xact, settings = excluded.settings",
        (scope.target, scope.snap, scope.xact, scope.settings),
    )
    conn.execute("INSERT INTO marts.built_targets VALUES (%s) ON CONFLICT DO NOTHING", (scope.target,))
    conn.execute(
        "DELETE FROM marts.changed_days c WHERE NOT EXISTS (SELECT 1 FROM marts.refresh_state s"
        " WHERE NOT (pg_visible_in_snapshot(c.xact, s.snap) OR c.xact = s.xact))"
    )
