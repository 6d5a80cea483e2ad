"""The two daily GA4 reports we store: which dimensions and metrics, and the table each fills."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

METRICS = {  # GA4 API name -> column
    "sessions": "sessions",
    "totalUsers": "total_users",
    "newUsers": "new_users",
    "engagedSessions": "engaged_sessions",
    "keyEvents": "key_events",
    "addToCarts": "add_to_carts",
    "checkouts": "checkouts",
    "ecommercePurchases": "ecommerce_purchases",
    "purchaseRevenue": "purchase_revenue",
}


@dataclass(frozen=True)
class Report:
    name: str
    table: str
    dimensions: dict[str, str]  # GA4 API name -> column, besides ``date``
    description: str

    @property
    def columns(self) -> tuple[str, ...]:
        return (
            "property_id",
            "report_date",
            *self.dimensions.values(),
            *METRICS.values(),
            "is_other",
            "payload",
            "partition_date",
            "_run_id",
        )

    def body(self, first: date, last: date) -> dict:
        """The runReport request for days ``first..last`` (property time zone), one row per day and key."""
        return {
            "dateRanges": [{"startDate": first.isoformat(), "endDate": last.isoformat()}],
            "dimensions": [{"name": "date"}, *({"name": d} for d in self.dimensions)],
            "metrics": [{"name": m} for m in METRICS],
            "keepEmptyRows": False,
        }

    def rows(
        self, records: Iterable[dict], property_id: str, days: set[date], run_id: str
    ) -> Iterator[tuple]:
        """Table rows; a row whose date is outside the requested days is refused (it would land nowhere)."""
        for r in records:
            day = datetime.strptime(r["date"], "%Y%m%d").date()
            if day not in days:
                raise ValueError(f"GA4 returned a row for {day}, outside the requested days")
            dims = [r[d] for d in self.dimensions]
            other = any(v == "(other)" for v in dims)
            payload = {k: (str(v) if v is not None else None) for k, v in r.items()}
            yield (property_id, day, *dims, *(r[m] for m in METRICS), other, json.dumps(payload), day, run_id)


TRAFFIC = Report(
    name="ga4_traffic_daily",
    table="raw.ga4_traffic_daily",
    dimensions={
        "sessionSource": "session_source",
        "sessionMedium": "session_medium",
        "sessionCampaignName": "session_campaign_name",
    },
    description="GA4 sessions, users, funnel events and revenue per day by session source / medium / campaign "
    "(raw.ga4_traffic_daily).",
)
LANDING_PAGES = Report(
    name="ga4_landing_pages_daily",
    table="raw.ga4_landing_pages_daily",
    dimensions={"landingPage": "landing_page"},
    description="GA4 sessions, users, funnel events and revenue per day by landing page (raw.ga4_landing_pages_daily).",
)
REPORTS = (TRAFFIC, LANDING_PAGES)
