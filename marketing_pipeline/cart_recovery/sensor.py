"""``abandoned_cart_sensor``: requests each due recovery step once, with one SQL statement per tick.

The statement finds idle open carts whose next step is due (a range scan per step over the
partial index ``carts_recovery_due_idx``), advances their ``recovery_step``, inserts their
outbox rows as ``requested`` and returns them, together with any earlier ``requested`` rows
above the cursor. The cursor is the highest outbox id handed to Dagster: if a tick dies after
the statement committed but before Dagster stored its result, the next tick hands the same
rows over again (the run key ``cart:step`` keeps Dagster from launching them twice); once
handed over they are never returned again, so ticks over unchanged state request nothing.

Many brands: one sensor per brand (``build_brand_sensors``), each over its brand's warehouse with
its own cursor (outbox ids are the brand's database's), its brand's quiet hours and its own tick
history, skip reasons and failures: one brand's unreachable warehouse does not hold the others'
emails back. The default brand's sensor keeps the name ``abandoned_cart_sensor`` (and so its
cursor); another brand's is ``abandoned_cart_sensor_<brand>``. Runs carry the brand in their
config and ``brand`` tag.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
import psycopg

from marketing_pipeline.cart_recovery.job import BRAND_TAG, JOB_NAME, RECOVERY_OP
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline.warehouse import WarehouseResource, connect

SENSOR_NAME = "abandoned_cart_sensor"

DUE_SQL = """
WITH steps (prev_step, delay) AS (
    SELECT * FROM unnest(%(prev)s::smallint[], %(delays)s::interval[])
), due AS (
    SELECT c.cart_id, c.email, (c.recovery_step + 1)::smallint AS step, c.last_activity_at
    FROM steps s
    JOIN ops.carts c ON c.recovery_step = s.prev_step
    WHERE c.email IS NOT NULL AND c.item_count > 0 AND c.converted_at IS NULL AND c.recovery_ended_at IS NULL
      AND c.last_activity_at <= %(now)s - greatest(s.delay, %(idle)s)
      AND c.last_activity_at > %(now)s - s.delay - %(grace)s
      AND (s.prev_step = 0 OR c.recovery_step_at <= %(now)s - %(gap)s)
    ORDER BY c.last_activity_at
    LIMIT %(limit)s
    FOR UPDATE OF c SKIP LOCKED
), advanced AS (
    UPDATE ops.carts c SET recovery_step = d.step, recovery_step_at = %(now)s,
           abandoned_at = coalesce(c.abandoned_at, d.last_activity_at)
    FROM due d WHERE c.cart_id = d.cart_id
), inserted AS (
    INSERT INTO ops.recovery_outbox (cart_id, step, email, status, requested_at)
    SELECT cart_id, step, email, 'requested', %(now)s FROM due
    ON CONFLICT (cart_id, step) DO NOTHING
    RETURNING id, cart_id, step
)
SELECT id, cart_id, step FROM inserted
UNION ALL
SELECT id, cart_id, step FROM ops.recovery_outbox WHERE status = 'requested' AND id > %(cursor)s
ORDER BY id
"""


@dataclass(frozen=True)
class DueStep:
    outbox_id: int
    cart_id: str
    step: int


def request_due_steps(
    conn: psycopg.Connection, policy: RecoveryPolicy, now: datetime, cursor: int
) -> list[DueStep]:
    """Mark and return the steps to launch (one statement, committed with the caller's transaction)."""
    steps = policy.steps
    rows = conn.execute(
        DUE_SQL,
        {
            "prev": [s.number - 1 for s in steps],
            "delays": [s.delay for s in steps],
            "now": now,
            "idle": policy.idle,
            "grace": policy.late_grace,
            "gap": policy.min_gap,
            "limit": policy.max_requests_per_tick,
            "cursor": cursor,
        },
    ).fetchall()
    return [DueStep(*r) for r in rows]


def run_request(due: DueStep, as_of: datetime | None, brand: Brand | None = None) -> dg.RunRequest:
    config = {"cart_id": due.cart_id, "step": due.step}
    tags = {"cart_recovery/cart_id": due.cart_id, "cart_recovery/step": str(due.step)}
    key = f"{due.cart_id}:{due.step}"
    if brand is not None:
        config["brand"] = brand.id
        tags[BRAND_TAG] = brand.id
        if not brand.is_default:  # run keys are per sensor already; the brand makes them readable
            key = f"{brand.id}:{key}"
    if as_of is not None:
        config["as_of"] = as_of.isoformat()
    return dg.RunRequest(run_key=key, run_config={"ops": {RECOVERY_OP: {"config": config}}}, tags=tags)


def sensor_name(brand: Brand) -> str:
    return SENSOR_NAME if brand.is_default else f"{SENSOR_NAME}_{brand.id}"


def build_abandoned_cart_sensor(
    clock: Callable[[], datetime] | None = None,
    policy: Callable[[], RecoveryPolicy] | None = None,
    name: str | None = None,
    brand: Brand | None = None,
) -> dg.SensorDefinition:
    """The sensor of ``brand`` (None: the default brand, read when it ticks); ``clock`` replaces the
    wall clock (demo, tests) and is then passed on to the runs."""
    label = f" of brand {brand.id}" if brand is not None and not brand.is_default else ""

    @dg.sensor(
        name=name or (sensor_name(brand) if brand is not None else SENSOR_NAME),
        job_name=JOB_NAME,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Requests the due abandoned-cart email step for each idle cart{label} (run key cart:step).",
    )
    def _sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SensorResult:
        now = clock() if clock else datetime.now(UTC)
        current = brand or brand_settings.load().default
        rules = policy() if policy else RecoveryPolicy.for_brand(current)
        cursor = int(context.cursor or 0)
        if rules.sender == "platform_flow":
            return dg.SensorResult(
                skip_reason="CART_RECOVERY_SENDER=platform_flow: the platform's flow sends",
                cursor=str(cursor),
            )
        if rules.is_quiet(now):
            return dg.SensorResult(skip_reason=f"quiet hours {rules.quiet_hours}", cursor=str(cursor))
        if rules.sender not in current.vendors:
            return dg.SensorResult(
                skip_reason=f"brand {current.id} does not use {rules.sender} (CART_RECOVERY_SENDER)",
                cursor=str(cursor),
            )
        with connect(warehouse.for_brand(current).url()) as conn:
            due = request_due_steps(conn, rules, now, cursor)
        if not due:
            return dg.SensorResult(skip_reason="no cart step is due", cursor=str(cursor))
        return dg.SensorResult(
            run_requests=[run_request(d, now if clock else None, current) for d in due],
            cursor=str(max(cursor, max(d.outbox_id for d in due))),
        )

    return _sensor


def build_brand_sensors(clock: Callable[[], datetime] | None = None) -> list[dg.SensorDefinition]:
    """One sensor per brand of the brands file (built when the definitions load)."""
    return [build_abandoned_cart_sensor(clock=clock, brand=b) for b in brand_settings.load()]


abandoned_cart_sensor = build_abandoned_cart_sensor()
