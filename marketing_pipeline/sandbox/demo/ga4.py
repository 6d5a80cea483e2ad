"""Demo summary: GA4 sessions and purchases per day, and the top sources of the window."""

from __future__ import annotations


def summary(conn, ctx) -> list[str]:
    lines = [
        "",
        "GA4 sessions per day:",
        f"  {'day':<12}{'sessions':>10}{'purchases':>11}{'revenue':>14}{'(other)':>9}",
    ]
    for day, sessions, purchases, revenue, other in conn.execute(
        "SELECT partition_date, sum(sessions), sum(ecommerce_purchases), sum(purchase_revenue),"
        " count(*) FILTER (WHERE is_other) FROM raw.ga4_traffic_daily WHERE partition_date BETWEEN %s AND %s"
        " GROUP BY 1 ORDER BY 1",
        (ctx.days[0], ctx.days[-1]),
    ):
        lines.append(f"  {day.isoformat():<12}{sessions:>10,}{purchases:>11,}{revenue:>14,.2f}{other:>9}")
    lines.append(
        "  top sources: "
        + ", ".join(
            f"{source}/{medium} {sessions:,}"
            for source, medium, sessions in conn.execute(
                "SELECT session_source, session_medium, sum(sessions) FROM raw.ga4_traffic_daily"
                " WHERE partition_date BETWEEN %s AND %s AND NOT is_other GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 4",
                (ctx.days[0], ctx.days[-1]),
            )
        )
    )
    return lines
