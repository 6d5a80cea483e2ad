"""Demo step (after ingest): run the Klaviyo activation job through Dagster, then summarise it."""

import dagster as dg

from marketing_pipeline.definitions import defs
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.warehouse import connect

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
# What the syncs remember about Klaviyo's side. The demo's sandbox starts empty every time, so
# a second demo must not believe the profiles, lists and events of the previous sandbox exist.
DESTINATION_STATE = (
    "ops.klaviyo_profiles",
    "ops.klaviyo_sent_events",
    "ops.klaviyo_lists",
    "ops.klaviyo_subscriptions",
    "ops.consent_pushes",  # the sandbox's Customer.io and SendGrid start empty too
)


def run(ctx) -> None:
    if ctx.runtime.sandbox:
        with connect(ctx.runtime.warehouse_url) as conn:
            conn.execute(f"TRUNCATE {', '.join(DESTINATION_STATE)}")
    # Placed Order events for the window's orders: the sandbox's Klaviyo has the older ones already
    events = {
        "ops": {"klaviyo_order_event_sync": {"config": {"since_days": (ctx.days[-1] - ctx.days[0]).days + 2}}}
    }
    result = defs.resolve_job_def("klaviyo_activation").execute_in_process(
        instance=ctx.instance,
        tags={"source": "demo"},
        run_config={**QUIET, **events},
        raise_on_error=False,
        partition_key=brand_settings.load().default.id,
    )
    if not result.success:
        raise RuntimeError("klaviyo_activation failed; see the run in the Dagster UI")
    ctx.extra["klaviyo_activation_run_id"] = result.run_id


def summary(conn, ctx) -> list[str]:
    run_id = ctx.extra.get("klaviyo_activation_run_id")
    if not run_id:
        return []
    rows = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT sync, status, sent, created, updated, skipped, failed FROM ops.sync_history"
            " WHERE destination = 'klaviyo' AND run_id = %s ORDER BY id",
            (run_id,),
        )
    }
    lines = ["", "Klaviyo activation (this run):"]
    labels = {
        "profiles": ("sent", "created", "updated", "unchanged", "rejected"),
        "order_events": ("sent", "accepted", "-", "already sent", "refused"),
        "lists": ("changes", "added", "removed", "without profile", "failed"),
        "subscriptions": ("sent", "subscribed", "-", "no consent/suppressed", "failed"),
    }
    for sync, names in labels.items():
        if sync in rows:
            status, *numbers = rows[sync]
            parts = ", ".join(f"{n} {label}" for label, n in zip(names, numbers, strict=True) if label != "-")
            lines.append(f"  {sync:<14} {status}: {parts}")
    for code, detail, n in conn.execute(
        "SELECT code, min(detail), count(*) FROM ops.klaviyo_import_rejects WHERE run_id = %s GROUP BY 1"
        " ORDER BY 3 DESC LIMIT 3",
        (run_id,),
    ):
        lines.append(f"    rejected ({code}) x{n}: {detail}")
    event = ctx.instance.get_latest_materialization_event(dg.AssetKey("klaviyo_list_sync"))
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
    sizes = [f"{k.removesuffix(' size')} {v.value:,}" for k, v in metadata.items() if k.endswith(" size")]
    if sizes:
        lines.append("  list sizes: " + ", ".join(sizes))
    return lines
