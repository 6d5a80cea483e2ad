"""Demo step: what the Klaviyo ingest loaded for the demo window (the ingest itself runs in daily_ingest)."""

from __future__ import annotations


def summary(conn, ctx) -> list[str]:
    first, last = ctx.days[0], ctx.days[-1]
    if conn.execute("SELECT to_regclass('raw.klaviyo_events') IS NULL").fetchone()[0]:
        return []
    lines = ["", "Klaviyo:"]
    sent, recipients, opens, clicks, revenue = conn.execute(
        "SELECT count(*), coalesce(sum(recipients), 0), coalesce(sum(opens_unique), 0), "
        "coalesce(sum(clicks_unique), 0), coalesce(sum(conversion_value), 0) FROM raw.klaviyo_campaign_performance "
        "WHERE partition_date BETWEEN %s AND %s",
        (first, last),
    ).fetchone()
    total = conn.execute("SELECT count(*) FROM raw.klaviyo_campaigns").fetchone()[0]
    lines.append(
        f"  campaigns: {total} known, {sent} sent in the window to {recipients:,} recipients, "
        f"{opens:,} opened, {clicks:,} clicked, {revenue:,.2f} attributed revenue"
    )
    flows = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'live') FROM raw.klaviyo_flows"
    ).fetchone()
    f_recipients, f_revenue = conn.execute(
        "SELECT coalesce(sum(recipients), 0), coalesce(sum(conversion_value), 0) FROM raw.klaviyo_flow_performance "
        "WHERE partition_date BETWEEN %s AND %s",
        (first, last),
    ).fetchone()
    lines.append(
        f"  flows: {flows[0]} ({flows[1]} live), {f_recipients:,} flow emails in the window, "
        f"{f_revenue:,.2f} conversion value"
    )
    lines.append(f"  {'events by metric':<24}{'events':>10}")
    for metric, n in conn.execute(
        "SELECT metric_name, count(*) FROM raw.klaviyo_events WHERE partition_date BETWEEN %s AND %s "
        "GROUP BY 1 ORDER BY 2 DESC",
        (first, last),
    ):
        lines.append(f"  {metric:<24}{n:>10,}")
    orders, value = conn.execute(
        "SELECT count(*), coalesce(sum(value), 0) FROM raw.klaviyo_orders "
        "WHERE partition_date BETWEEN %s AND %s",
        (first, last),
    ).fetchone()
    suppressed = conn.execute("SELECT count(*) FROM ops.suppressions WHERE source = 'klaviyo'").fetchone()[0]
    lines.append(
        f"  orders seen by Klaviyo: {orders:,} ({value:,.2f}); profiles suppressed by Klaviyo: {suppressed:,}"
    )
    return lines
