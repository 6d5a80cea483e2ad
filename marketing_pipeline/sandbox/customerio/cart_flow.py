"""The sandbox workspace's own abandoned-cart campaign, as a brand would build it in Customer.io.

Triggered by the semantic ``Checkout Started`` event that arrives through the Pipelines API, it
sends three emails (``STEPS`` after the event's timestamp). A person is in one journey at a time
(a trigger while theirs runs is ignored), a repeated ``messageId`` is one trigger, and the
journey ends (exit condition) when the person sends ``Order Completed`` after the trigger or is
suppressed before an email is due (an order through either API counts). Deliveries are worked out when asked for, from what was
received, and only those whose time has come (by the wall clock) exist yet; they are served by
``GET /v1/messages`` beside the workspace's generated ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

CAMPAIGN_ID = 14
NAME = "Abandoned cart"
TRIGGER = "Checkout Started"
EXIT_EVENTS = ("Order Completed", "order_placed")  # Pipelines' semantic name, the Track API sync's
# (action id, delay after the trigger, subject)
STEPS = (
    (141, timedelta(hours=1), "You left something in your cart"),
    (142, timedelta(hours=24), "Your cart is waiting"),
    (143, timedelta(hours=48), "10% off what you left behind"),
)


def campaign(epoch: int) -> dict:
    """The campaign as ``GET /v1/campaigns`` lists it (an event-triggered campaign)."""
    return {
        "id": CAMPAIGN_ID,
        "deduplicate_id": f"{CAMPAIGN_ID}:{epoch}",
        "name": NAME,
        "type": "event",
        "event_name": TRIGGER,
        "created": epoch,
        "updated": epoch,
        "active": True,
        "state": "running",
        "actions": [{"type": "email", "id": aid} for aid, _, _ in STEPS],
        "first_started": epoch,
        "tags": ["sandbox", "cart recovery"],
    }


@dataclass(frozen=True)
class FlowDelivery:
    id: str
    person: str  # the Pipelines userId (an email here)
    created: int
    action_id: int
    subject: str

    def json(self) -> dict:
        return {
            "id": self.id,
            "deduplicate_id": f"{self.id}:{self.created + 2}",
            "customer_id": self.person,
            "customer_identifiers": {"email": self.person, "id": self.person, "cio_id": self.id[:8]},
            "recipient": self.person,
            "subject": self.subject,
            "metrics": {"created": self.created, "sent": self.created + 1, "delivered": self.created + 2},
            "created": self.created,
            "failure_message": None,
            "campaign_id": CAMPAIGN_ID,
            "newsletter_id": None,
            "broadcast_id": None,
            "action_id": self.action_id,
            "content_id": 0,
            "trigger_event_id": None,
            "type": "email",
            "forgotten": False,
        }


def _at(message: dict) -> datetime | None:
    try:
        return datetime.fromisoformat(message["timestamp"])
    except (KeyError, TypeError, ValueError):
        return None


def deliveries(
    messages: list[dict], track_events: list[dict], suppressed_at: dict[str, datetime], now: datetime
) -> list[FlowDelivery]:
    """Every email the campaign has sent by ``now``, oldest first.

    ``messages``: Pipelines calls received; ``track_events``: Track API events (``customer``, ``name``,
    ``timestamp``); ``suppressed_at``: when each person was suppressed.
    """
    seen: set[str] = set()
    triggers: list[tuple[datetime, str, str]] = []
    orders: dict[str, list[datetime]] = {}
    for e in track_events:
        if e.get("name") in EXIT_EVENTS and isinstance(e.get("timestamp"), int):
            orders.setdefault(e["customer"], []).append(datetime.fromtimestamp(e["timestamp"], UTC))
    for m in messages:
        if m.get("type") != "track" or not m.get("userId") or (at := _at(m)) is None:
            continue
        if m.get("event") in EXIT_EVENTS:
            orders.setdefault(m["userId"], []).append(at)
        elif m.get("event") == TRIGGER and m.get("messageId") not in seen:
            seen.add(m.get("messageId"))
            triggers.append((at, m["userId"], str(m.get("messageId"))))
    out: list[FlowDelivery] = []
    busy_until: dict[str, datetime] = {}
    for at, person, message_id in sorted(triggers):
        if at < busy_until.get(person, at):
            continue  # already in the journey
        busy_until[person] = at + STEPS[-1][1]
        for action_id, delay, subject in STEPS:
            due = at + delay
            left = suppressed_at.get(person)
            if due > now or (left and left <= due) or any(at < o <= due for o in orders.get(person, [])):
                break
            digest = hashlib.sha256(f"{message_id}:{action_id}".encode()).hexdigest()[:20]
            out.append(FlowDelivery(digest, person, int(due.timestamp()), action_id, subject))
    return sorted(out, key=lambda d: (d.created, d.id))
