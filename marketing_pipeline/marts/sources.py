"""The raw sources the core model reads, and how to tell whether each is present.

A source is present when all its tables exist. Order matters: Klaviyo's copy of an order is
dropped against the storefront orders already staged, so the storefronts come first. Builders run ``<target>_from_<source>.sql`` for
each present source that has such a file; an absent source contributes nothing and is recorded
as ``source_absent`` in ``marts.source_coverage``.
"""

from dataclasses import dataclass

import dagster as dg
import psycopg


@dataclass(frozen=True)
class Source:
    name: str
    tables: tuple[str, ...]
    day_sql: str  # (day, rows) per brand-local day, for coverage
    asset_keys: tuple[str, ...] = ()  # Dagster assets that load it (daily partitions)
    revenue_channel: str | None = None  # core.orders channel reconciled against revenue_sql
    revenue_sql: str | None = None  # (day, revenue): what the source charged per day


SOURCES: tuple[Source, ...] = (
    Source(
        "tiktok_shop",
        ("raw.tiktok_shop_orders", "raw.tiktok_shop_order_lines"),
        "SELECT partition_date, count(*) FROM raw.tiktok_shop_orders GROUP BY 1",
        ("tiktok_shop_orders",),
        "tiktok_shop",
        "SELECT partition_date, sum(total_amount) FROM raw.tiktok_shop_orders GROUP BY 1",
    ),
    Source(
        "website",
        ("raw.website_orders", "raw.website_order_lines"),
        "SELECT partition_date, count(*) FROM raw.website_orders GROUP BY 1",
        (),
        "website",
        "SELECT partition_date, sum(total) FROM raw.website_orders GROUP BY 1",
    ),
    Source(
        "customerio",
        ("raw.customerio_deliveries", "raw.customerio_campaigns"),
        "SELECT partition_date, count(*) FROM raw.customerio_deliveries GROUP BY 1",
        ("customerio_deliveries",),
    ),
    Source(
        "klaviyo",
        (
            "raw.klaviyo_events",
            "raw.klaviyo_profiles",
            "raw.klaviyo_orders",
            "raw.klaviyo_order_lines",
            "raw.klaviyo_campaigns",
            "raw.klaviyo_campaign_messages",
            "raw.klaviyo_flows",
        ),
        "SELECT partition_date, count(*) FROM raw.klaviyo_events GROUP BY 1",
        ("klaviyo_events",),
    ),
    Source(
        "ga4",
        ("raw.ga4_traffic_daily",),
        "SELECT partition_date, count(*) FROM raw.ga4_traffic_daily GROUP BY 1",
        ("ga4_traffic_daily",),
    ),
    Source(
        "tiktok_content",
        ("raw.tiktok_content_daily",),
        "SELECT partition_date, count(*) FROM raw.tiktok_content_daily GROUP BY 1",
        ("tiktok_content_daily",),
    ),
    Source(
        "carts",
        ("ops.carts",),
        "SELECT (created_at AT TIME ZONE current_setting('marts.tz'))::date, count(*) FROM ops.carts GROUP BY 1",
    ),
)


def present_names(conn: psycopg.Connection) -> set[str]:
    """The sources whose every table exists, in one statement (a builder asks for all of them)."""
    pairs = [(s.name, t) for s in SOURCES for t in s.tables]
    missing = conn.execute(
        "SELECT coalesce(array_agg(DISTINCT name), '{}') FROM unnest(%s::text[], %s::text[]) AS p(name, tbl)"
        " WHERE to_regclass(tbl) IS NULL",
        ([n for n, _ in pairs], [t for _, t in pairs]),
    ).fetchone()[0]
    return {s.name for s in SOURCES} - set(missing)


def raw_asset_keys() -> list[dg.AssetKey]:
    return [dg.AssetKey(k) for s in SOURCES for k in s.asset_keys]
