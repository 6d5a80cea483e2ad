"""``cart_recovery_daily``: runs sql/marts/cart_recovery_daily.sql, replacing the table in one transaction.

One partition per brand: each brand's report is rebuilt in its own warehouse, on its own calendar
(days cut in the brand's time zone), and the run's metadata gives that brand's recovery rate.
The asset is built when the definitions load (``build_cart_recovery_daily``); importing the
module's ``cart_recovery_daily`` builds it for the current brands file.
"""

from datetime import UTC, datetime
from functools import cache

import dagster as dg

from marketing_pipeline.brand_partitions import brand_of, build_brand_partitions
from marketing_pipeline.settings import PROJECT_ROOT
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.warehouse import WarehouseResource

SQL_FILE = PROJECT_ROOT / "sql" / "marts" / "cart_recovery_daily.sql"


def refresh(conn, policy: RecoveryPolicy, as_of: datetime) -> int:
    """Rebuild the mart inside the caller's transaction; returns its row count."""
    conn.execute("LOCK TABLE marts.cart_recovery_daily IN EXCLUSIVE MODE")
    # JIT would compile each scanned partition's expressions (a TikTok Shop order table with 400 day
    # partitions: 1.4 s of compiling for a 0.5 s scan); off for the rest of the transaction, as in the marts.
    conn.execute("SET LOCAL jit = off")
    conn.execute("DELETE FROM marts.cart_recovery_daily")
    conn.execute(
        SQL_FILE.read_text(),
        {
            "as_of": as_of,
            "idle": policy.idle,
            "attribution": policy.attribution_window,
            "tz": policy.timezone,
            # platform-flow mode: the platform's flow emails, matched to the person's cart within the
            # one-sequence-per-person window
            "platform": policy.sender == "platform_flow",
            "flows": list(policy.platform_flows),
            "horizon": policy.cap_window,
        },
    )
    return conn.execute("SELECT count(*) FROM marts.cart_recovery_daily").fetchone()[0]


def _cart_recovery_daily(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    brand = brand_of(context)
    policy = RecoveryPolicy.for_brand(brand)
    with warehouse.for_brand(brand).transaction() as conn:
        rows = refresh(conn, policy, datetime.now(UTC))
        totals = conn.execute(
            "SELECT coalesce(sum(carts_abandoned), 0), coalesce(sum(recovered_carts), 0),"
            " coalesce(sum(recovered_revenue), 0) FROM marts.cart_recovery_daily WHERE step = 0"
        ).fetchone()
    abandoned = int(totals[0])
    return dg.MaterializeResult(
        metadata={
            "brand": brand.id,
            "dagster/row_count": rows,
            "carts_abandoned": int(totals[0]),
            "recovered_carts": int(totals[1]),
            "recovered_revenue": float(totals[2]),
            "currency": brand.currency,
            # the brand's recovered carts among its abandoned ones, over the whole report
            "recovery_rate": round(int(totals[1]) / abandoned, 4) if abandoned else 0.0,
            "attribution_days": policy.attribution_window.days,
        }
    )


@cache
def _build(brand_ids: tuple[str, ...]) -> dg.AssetsDefinition:
    return dg.asset(
        name="cart_recovery_daily",
        partitions_def=build_brand_partitions(),
        group_name="cart_recovery",
        kinds={"postgres"},
        description="marts.cart_recovery_daily: per abandonment day, channel and step (0 = whole sequence): carts "
        "abandoned, emails sent, clicks, recovered carts (after a click or not), revenue and recovery rate, within "
        "CART_RECOVERY_ATTRIBUTION_WINDOW (default 7 days) after an email. The emails are the project's own, or with "
        "CART_RECOVERY_SENDER=platform_flow the platform's recovery flow's (raw Klaviyo flow events and Customer.io "
        "deliveries of CART_RECOVERY_PLATFORM_FLOWS). One partition per brand, in the brand's warehouse.",
    )(_cart_recovery_daily)


def build_cart_recovery_daily() -> dg.AssetsDefinition:
    """The asset, partitioned by the brands of the current brands file."""
    return _build(brand_settings.load().ids)


def __getattr__(name: str):
    if name == "cart_recovery_daily":
        return build_cart_recovery_daily()
    raise AttributeError(name)
