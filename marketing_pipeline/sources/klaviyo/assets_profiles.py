"""``klaviyo_profiles``: profiles updated on the partition's days, with consent and suppression.

Incremental by ``updated``: a profile's row moves to the day of its latest update (upsert on
the id). Unsubscribes and suppressions go to ``ops.suppressions`` and consent to ``ops.consent``
through ``marketing_pipeline.consent``, in the same transaction, so every sender honours them.
"""

import json

import dagster as dg

from marketing_pipeline import consent
from marketing_pipeline.http import MalformedRecord
from marketing_pipeline.ingest import (
    ingest_asset_args,
    ingest_errors,
    ingest_metadata,
    ingest_scope,
)
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sources.klaviyo import streams
from marketing_pipeline.sources.klaviyo.models import Profile, parse
from marketing_pipeline.sources.klaviyo.resource import KlaviyoResource
from marketing_pipeline.warehouse import WarehouseResource, upsert_rows

TABLE = "raw.klaviyo_profiles"
COLUMNS = (
    "profile_id",
    "email",
    "phone_number",
    "external_id",
    "first_name",
    "last_name",
    "created_at",
    "updated_at",
    "email_consent",
    "email_consent_at",
    "can_receive_email_marketing",
    "suppression_reasons",
    "payload",
    "partition_date",
    "_run_id",
)
# Klaviyo suppression reasons -> the shared vocabulary of ops.suppressions
SUPPRESSION_REASONS = {
    "HARD_BOUNCE": "bounced",
    "SPAM_REPORT": "spam",
    "UNSUBSCRIBE": "unsubscribed",
    "USER_SUPPRESSED": "suppressed",
    "INVALID_EMAIL": "bounced",
}


def profile_row(p: Profile, raw: dict, day, run_id: str) -> tuple:
    a = p.attributes
    m = a.email_marketing
    return (
        p.id,
        a.email,
        a.phone_number,
        a.external_id,
        a.first_name,
        a.last_name,
        a.created,
        a.updated,
        m.consent,
        m.consent_timestamp,
        m.can_receive_email_marketing,
        [s.reason for s in m.suppression],
        json.dumps(raw),
        day,
        run_id,
    )


def record_consent_state(conn, p: Profile) -> tuple[int, int]:
    """Consent and suppressions of one profile; returns (consents, suppressions) written."""
    a = p.attributes
    if not a.email:
        return 0, 0
    m = a.email_marketing
    consents = suppressions = 0
    if m.consent in ("SUBSCRIBED", "UNSUBSCRIBED"):
        consent.record_consent(
            conn,
            a.email,
            m.consent == "SUBSCRIBED",
            "klaviyo",
            m.consent_timestamp or a.updated,
            evidence={"profile_id": p.id, "consent": m.consent},
        )
        consents += 1
    if m.consent == "UNSUBSCRIBED":
        consent.suppress(conn, a.email, "klaviyo", "unsubscribed", m.consent_timestamp or a.updated)
        suppressions += 1
    for s in m.suppression:
        consent.suppress(
            conn,
            a.email,
            "klaviyo",
            SUPPRESSION_REASONS.get(s.reason, "suppressed"),
            s.timestamp or a.updated,
        )
        suppressions += 1
    return consents, suppressions


@dg.asset(
    description="Klaviyo profiles updated on the partition's days (raw.klaviyo_profiles, upserted on the id), "
    "with email consent and suppressions written to ops.consent and ops.suppressions.",
    **ingest_asset_args("klaviyo", "klaviyo"),
)
def klaviyo_profiles(
    context: dg.AssetExecutionContext, klaviyo: KlaviyoResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    brand, days, warehouse, klaviyo = ingest_scope(context, warehouse, klaviyo, "klaviyo")
    tz = brand.tz
    rows = consents = suppressions = 0
    with ingest_errors("klaviyo.profiles", context.run.run_id, warehouse.url()), klaviyo.client() as client:
        with warehouse.transaction() as conn:
            for day in days:
                for page in streams.profile_pages(client, *day_bounds(day, tz)):
                    parsed = [(parse(Profile, raw, "profile"), raw) for raw in page]
                    batch = []
                    for p, raw in parsed:
                        if (
                            p.attributes.updated.tzinfo is None
                            or p.attributes.updated.astimezone(tz).date() != day
                        ):
                            raise MalformedRecord(
                                "Klaviyo",
                                "profile",
                                p.id,
                                f"attributes.updated: {p.attributes.updated} is outside {day}",
                                raw,
                            )
                        batch.append(profile_row(p, raw, day, context.run.run_id))
                        c, s = record_consent_state(conn, p)
                        consents, suppressions = consents + c, suppressions + s
                    rows += upsert_rows(conn, TABLE, COLUMNS, batch, key=("profile_id",))
        stats = client.stats
    return dg.MaterializeResult(
        metadata=ingest_metadata(
            stats, rows=rows, consents=consents, suppressions=suppressions, days=len(days)
        )
    )
