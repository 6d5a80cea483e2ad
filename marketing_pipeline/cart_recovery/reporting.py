"""``cart_recovery_daily``: runs sql/marts/cart_recovery_daily.sql, replacing the table in one transaction."""

from datetime import UTC, datetime

import dagster as dg

from marketing_pipeline.settings import PROJECT_ROOT
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.warehouse import WarehouseResource

SQL_FILE = PROJECT_ROOT / "sql" / "marts" / "cart_recovery_daily.sql"


def refresh(conn, policy: RecoveryPolicy, as_of: datetime) -> int:
    """Rebuild the mart inside the caller's transaction; returns its row count."""
    conn.execute("LOCK TABLE marts.cart_recovery_daily IN EXCLUSIVE MODE")
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


@dg.asset(
    group_name="cart_recovery",
    kinds={"postgres"},
    description="marts.cart_recovery_daily: per abandonment day, channel and step (0 = whole sequence): carts "
    "abandoned, emails sent, clicks, recovered carts (after a click or not), revenue and recovery rate, within "
    "CART_RECOVERY_ATTRIBUTION_WINDOW (default 7 days) after an email. The emails are the project's own, or with "
    "CART_RECOVERY_SENDER=platform_flow the platform's recovery flow's (raw Klaviyo flow events and Customer.io "
    "deliveries of CART_RECOVERY_PLATFORM_FLOWS).",
)
def cart_recovery_daily(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    policy = RecoveryPolicy.from_env()
    with warehouse.transaction() as conn:
        rows = refresh(conn, policy, datetime.now(UTC))
        totals = conn.execute(
            "SELECT coalesce(sum(carts_abandoned), 0), coalesce(sum(recovered_carts), 0),"
            " coalesce(sum(recovered_revenue), 0) FROM marts.cart_recovery_daily WHERE step = 0"
        ).fetchone()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "carts_abandoned": int(totals[0]),
            "recovered_carts": int(totals[1]),
            "recovered_revenue": float(totals[2]),
            "attribution_days": policy.attribution_window.days,
        }
    )
