"""Demo summary: TikTok shoppable-video views, engagement and product clicks per day, top accounts."""

from __future__ import annotations


def summary(conn, ctx) -> list[str]:
    lines = [
        "",
        "TikTok video analytics per day:",
        f"  {'day':<12}{'videos':>7}{'views':>10}{'likes':>9}{'comments':>9}{'shares':>8}{'clicks':>8}{'gmv':>12}",
    ]
    for day, videos, views, likes, comments, shares, clicks, gmv in conn.execute(
        "SELECT partition_date, count(*), sum(views), sum(likes), sum(comments), sum(shares), sum(product_clicks),"
        " sum(gmv) FROM raw.tiktok_content_daily WHERE partition_date BETWEEN %s AND %s GROUP BY 1 ORDER BY 1",
        (ctx.days[0], ctx.days[-1]),
    ):
        lines.append(
            f"  {day.isoformat():<12}{videos:>7}{views:>10,}{likes:>9,}{comments:>9,}{shares:>8,}"
            f"{clicks:>8,}{gmv or 0:>12,.2f}"
        )
    lines.append(
        "  top accounts: "
        + ", ".join(
            f"{user} {views:,} views"
            for user, views in conn.execute(
                "SELECT username, sum(views) FROM raw.tiktok_content_account_daily WHERE partition_date BETWEEN %s AND %s"
                " GROUP BY 1 ORDER BY 2 DESC LIMIT 3",
                (ctx.days[0], ctx.days[-1]),
            )
        )
    )
    return lines
