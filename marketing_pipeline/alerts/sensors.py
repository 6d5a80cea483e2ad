"""The alert sensors: a failed run, a failed asset check (freshness checks say a source is stale),
a recovery email whose outcome is ``unknown``. Each alert links to the run or asset in the UI."""

from __future__ import annotations

from datetime import datetime

import dagster as dg

from marketing_pipeline import settings
from marketing_pipeline.alerts.notify import notify, ui_link
from marketing_pipeline.alerts.slack import SlackAlertsResource
from marketing_pipeline.brand_partitions import brand_id_of_tags
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.vendors import vendor_of
from marketing_pipeline.warehouse import WarehouseResource

RUNNING = dg.DefaultSensorStatus.RUNNING


def run_brand(tags) -> str | None:
    """The name (and id) of the brand a run was for, from its partition tags; None for a run of no
    brand. A deployment of one brand without a brands file names none: there is only one."""
    brand_id = brand_id_of_tags(tags)
    brands = brand_settings.load()
    if brand_id is None or brand_id not in brands.ids or brands.source is None:
        return None
    brand = brands.get(brand_id)
    return f"{brand.name} ({brand.id})" if brand.name and brand.name != brand.id else brand.id


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    default_status=RUNNING,
    description="Posts each failed run to Slack once, with its error and a link to the run.",
)
def alert_on_run_failure(
    context: dg.RunFailureSensorContext, slack: SlackAlertsResource, warehouse: WarehouseResource
) -> None:
    if missing := slack.missing():
        context.log.warning(f"not alerted: Slack is not configured (set {', '.join(missing)})")
        return
    run = context.dagster_run
    partition = run.tags.get("dagster/partition")
    what = "asset run" if run.job_name.startswith("__") else run.job_name  # Dagster's implicit asset jobs
    assets = ", ".join(sorted(k.to_user_string() for k in run.asset_selection or []))[:200]
    brand = run_brand(run.tags)
    text = (
        f":rotating_light: Run failed{f' for brand *{brand}*' if brand else ''}: *{what}*"
        f"{f' ({assets})' if assets else ''}"
        f"{f' partition {partition}' if partition else ''}\n{context.failure_event.message or ''}"[:1500]
    )
    with warehouse.connection() as conn:
        notify(conn, slack, f"run_failure:{run.run_id}", "run_failure", text, ui_link(f"runs/{run.run_id}"))


@dg.sensor(
    name="alert_on_failed_checks",
    minimum_interval_seconds=60,
    default_status=RUNNING,
    description="Posts failed asset checks to Slack (stale sources through their freshness checks): one "
    "alert per check, brand and brand-local day; vendors a brand has not configured are not alerted on.",
)
def alert_on_failed_checks(
    context: dg.SensorEvaluationContext, slack: SlackAlertsResource, warehouse: WarehouseResource
):
    if missing := slack.missing():
        return dg.SkipReason(f"Slack is not configured (set {', '.join(missing)})")
    repo = context.repository_def
    if repo is None:
        return dg.SkipReason("no repository to read checks from")
    sent, not_configured = 0, set()
    brands = brand_settings.load()
    with warehouse.connection() as conn:
        for check_key in sorted(repo.asset_graph.asset_check_keys, key=lambda k: k.to_user_string()):
            asset = check_key.asset_key
            assets_def = repo.assets_defs_by_key.get(asset)
            vendor = vendor_of(assets_def) if assets_def else None
            for brand_id, record in _latest_per_brand(context.instance, check_key, brands.ids).items():
                event = record.event.dagster_event if record and record.event else None
                if event is None or event.event_type != dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                    continue  # never run, or planned and not yet evaluated
                evaluation = event.event_specific_data
                if evaluation.passed:
                    continue
                brand = brands.get(brand_id) if brand_id else None
                if vendor and not _configured(vendor, brand, brands):
                    not_configured.add(vendor.name if brand is None else f"{vendor.name} ({brand.id})")
                    continue
                tz = brand.tz if brand else settings.load().tz
                day = datetime.fromtimestamp(record.create_timestamp, tz).date().isoformat()
                name = check_key.to_user_string().replace(":", "/")
                who = f" for brand *{brand.name or brand.id} ({brand.id})*" if brand and brands.source else ""
                text = (
                    f":warning: Check failed{who}: *{name}* ({evaluation.severity.value})\n"
                    f"{evaluation.description or ''}"
                )
                link = ui_link(f"assets/{'/'.join(asset.path)}?view=checks")
                # one alert per check, brand and day; a freshness check's stale brands name it
                stale = evaluation.metadata.get("stale_brands")
                scope = brand_id or (stale.value if stale is not None and stale.value != "-" else "")
                key = f"check_failed:{name}:{scope}:{day}" if scope else f"check_failed:{name}:{day}"
                sent += notify(conn, slack, key, "check_failed", text[:1500], link)
    if not_configured:
        context.log.info(
            f"not alerting on checks of vendors not configured: {', '.join(sorted(not_configured))}"
        )
    return None if sent else dg.SkipReason("no new failed checks")


def _latest_per_brand(instance, check_key, brand_ids) -> dict:
    """The latest evaluation of a check for each brand whose runs evaluated it (None: a run of no
    brand), so one brand's passing check never hides another's failure."""
    latest: dict = {}
    for record in instance.event_log_storage.get_asset_check_execution_history(check_key, limit=50):
        run = instance.get_run_by_id(record.run_id)
        brand_id = brand_id_of_tags(run.tags) if run else None
        latest.setdefault(brand_id if brand_id in brand_ids else None, record)
    return latest


def _configured(vendor, brand, brands) -> bool:
    """The vendor configured for the brand (its own variables); for a check of no brand (the
    freshness checks, which skip unconfigured brands themselves), for any brand."""
    candidates = [brand] if brand is not None else list(brands)
    return any(vendor.key in b.vendors and b.vendor(vendor.key).configured() for b in candidates)


UNKNOWN_SENDS_SQL = """
SELECT o.id, o.cart_id, o.step, o.run_id, o.detail FROM ops.recovery_outbox o
WHERE o.status = 'unknown'
  AND NOT EXISTS (SELECT 1 FROM ops.alerts a WHERE a.alert_key = 'recovery_unknown:' || o.id)
ORDER BY o.id LIMIT 100
"""


@dg.sensor(
    name="alert_on_unknown_sends",
    minimum_interval_seconds=60,
    default_status=RUNNING,
    description="Posts each cart recovery email whose outcome is unknown (never re-sent: a person decides).",
)
def alert_on_unknown_sends(
    context: dg.SensorEvaluationContext, slack: SlackAlertsResource, warehouse: WarehouseResource
):
    if missing := slack.missing():
        return dg.SkipReason(f"Slack is not configured (set {', '.join(missing)})")
    with warehouse.connection() as conn:
        rows = conn.execute(UNKNOWN_SENDS_SQL).fetchall()
        for outbox_id, cart_id, step, run_id, detail in rows:
            text = (
                f":question: Cart recovery email of unknown outcome: cart {cart_id}, step {step} "
                f"(outbox {outbox_id}); it will not be re-sent. {detail or ''}"
            )[:1500]
            link = ui_link(f"runs/{run_id}") if run_id else ui_link("jobs/cart_recovery_job")
            notify(conn, slack, f"recovery_unknown:{outbox_id}", "recovery_unknown", text, link)
    return None if rows else dg.SkipReason("no unknown sends")


SENSORS = [alert_on_run_failure, alert_on_failed_checks, alert_on_unknown_sends]
