"""Demo step: website orders arrive as a CSV export of the sandbox brand's storefront, imported like any
history: the whole order history in one file, through the bulk COPY path."""

from __future__ import annotations

from marketing_pipeline import settings
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sandbox.website.export import write_csv
from marketing_pipeline.sandbox.world import World
from marketing_pipeline.sources.website.csv_import import import_csv
from marketing_pipeline.warehouse import connect

SEED = 7  # the sandbox's default seed: the same brand the emulators serve


def run(ctx) -> None:
    cfg = settings.load()
    first = (ctx.history or ctx.days)[0]
    start, _ = day_bounds(first, cfg.tz)
    _, end = day_bounds(ctx.days[-1], cfg.tz)
    orders = (o for o in World(seed=SEED).orders_between(start, end) if o.channel == "website")
    path = cfg.state_dir / "demo" / f"website_orders_{first}_{ctx.last}.csv"
    for old in path.parent.glob("website_orders_*.csv"):  # one export kept: the sandbox stays small
        old.unlink()
    rows = write_csv(path, orders)
    with connect(ctx.runtime.warehouse_url, autocommit=True) as conn:
        result = import_csv(conn, path, source="demo")
    ctx.extra["website_import"] = {"file": str(path), "rows": rows, "orders": result.orders, "first": first}


def summary(conn, ctx) -> list[str]:
    lines = [
        "",
        "Website orders and revenue per day (CSV import):",
        f"  {'day':<12}{'orders':>8}{'revenue':>14}",
    ]
    for day, orders, revenue in conn.execute(
        "SELECT partition_date, count(*), sum(total) FROM raw.website_orders "
        "WHERE partition_date BETWEEN %s AND %s GROUP BY 1 ORDER BY 1",
        (ctx.days[0], ctx.days[-1]),
    ):
        lines.append(f"  {day.isoformat():<12}{orders:>8}{revenue:>14,.2f}")
    info = ctx.extra.get("website_import")
    if info:
        lines.append(
            f"  the history since {info['first']}: {info['orders']:,} orders imported from {info['rows']:,} CSV rows"
            f" ({info['file']})"
        )
        pushed = conn.execute(
            "SELECT count(*) FROM raw.website_orders WHERE partition_date BETWEEN %s AND %s AND source <> 'demo'",
            (ctx.days[0], ctx.days[-1]),
        ).fetchone()[0]
        if pushed:
            lines.append(
                f"  plus {pushed:,} orders pushed at checkout through the cart intake (listed above too)"
            )
    return lines
