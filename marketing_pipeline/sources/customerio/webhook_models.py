"""What a reporting-webhook event must carry (the ``x-webhooks.reportingWebhook`` payload).

Checked per object type: the metrics each type can report, a string ``event_id``, an integer
``timestamp``, and a ``data`` object. Anything else in the body is kept as sent.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from marketing_pipeline.consent import normalize_email

_SENT = {"drafted", "attempted", "sent", "clicked", "failed"}
METRICS = {
    "customer": {"subscribed", "unsubscribed", "cio_subscription_preferences_changed"},
    "email": _SENT
    | {"delivered", "opened", "converted", "unsubscribed", "bounced", "dropped", "spammed", "undeliverable"},
    "push": _SENT | {"delivered", "opened", "converted", "bounced", "dropped", "undeliverable"},
    "in_app": _SENT | {"opened", "converted", "undeliverable"},
    "sms": _SENT | {"delivered", "converted", "bounced"},
    "slack": _SENT | {"undeliverable"},
    "webhook": _SENT | {"undeliverable"},
}
EARLIEST, LATEST = 946684800, 4102444800  # 2000-01-01 and 2100-01-01 UTC
SUPPRESSING = {"unsubscribed": "unsubscribed", "bounced": "bounced", "spammed": "spam"}


class ReportingEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    event_id: str
    object_type: str
    metric: str
    timestamp: StrictInt = Field(ge=EARLIEST, lt=LATEST)  # seconds; outside is a broken or hostile sender
    data: dict[str, Any]

    @field_validator("event_id")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("object_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"must be one of {sorted(METRICS)}")
        return value

    @model_validator(mode="after")
    def _metric_for_type(self) -> ReportingEvent:
        if self.metric not in METRICS[self.object_type]:
            raise ValueError(
                f"metric {self.metric!r} is not reported for {self.object_type} "
                f"(expected one of {sorted(METRICS[self.object_type])})"
            )
        return self

    @property
    def identifiers(self) -> dict:
        ids = self.data.get("identifiers")
        return ids if isinstance(ids, dict) else {}

    @property
    def email(self) -> str | None:
        for value in (
            self.identifiers.get("email"),
            self.data.get("email_address"),
            self.data.get("recipient") if self.object_type == "email" else None,
        ):
            if isinstance(value, str) and (email := normalize_email(value)):
                return email
        return None

    def int_field(self, name: str) -> int | None:
        value = self.data.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_event(body: Any) -> ReportingEvent:
    """Validate one event; raises ``ValueError`` naming each wrong field."""
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    try:
        return ReportingEvent.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(event)'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(problems) from None
