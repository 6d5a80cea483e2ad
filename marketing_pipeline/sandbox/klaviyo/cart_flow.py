"""The sandbox account's live "Abandoned Checkout" flow, run on the events the pipeline sends.

Each ``Started Checkout`` the account receives (one per ``unique_id``) starts the flow for its
profile, unless the profile is already in it: three emails (``DELAYS`` after the event's time),
each a ``Received Email`` event with the flow's ``$flow`` and the email's ``$message``. The flow
filter is Klaviyo's usual "Placed Order zero times since starting this flow", and a suppressed
profile is skipped from the moment it was suppressed. The emails are worked out when the events
endpoint is read, from what was received, and only those whose time has come (``now``) exist.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from marketing_pipeline.sandbox.klaviyo.data import Ev, Flow

TRIGGER = "Started Checkout"
EXIT = "Placed Order"
DELAYS = (timedelta(hours=1), timedelta(hours=24), timedelta(hours=48))
SUBJECTS = ("You left something behind", "Your cart is waiting", "10% off what you left behind")


def _at(event: dict) -> datetime | None:
    try:
        return datetime.fromisoformat(event["time"])
    except (KeyError, TypeError, ValueError):
        return None


def emails(flow: Flow, events: list[dict], suppressed_at: dict[str, datetime], now: datetime) -> list[Ev]:
    """The flow's ``Received Email`` events up to ``now``; ``events`` as the write endpoints keep them."""
    messages = [m for _, kind, m in flow.actions if kind == "SEND_EMAIL" and m]
    triggers = sorted(
        (at, e["profile_id"], e["email"], str(e.get("unique_id")))
        for e in events
        if e["metric"] == TRIGGER and (at := _at(e)) is not None
    )
    orders: dict[str, list[datetime]] = {}
    for e in events:
        if e["metric"] == EXIT and (at := _at(e)) is not None:
            orders.setdefault(e["profile_id"], []).append(at)
    out: list[Ev] = []
    busy_until: dict[str, datetime] = {}
    for at, profile_id, email, unique_id in triggers:
        if at < busy_until.get(profile_id, at):
            continue  # already in the flow
        busy_until[profile_id] = at + DELAYS[-1]
        for n, (delay, message, subject) in enumerate(zip(DELAYS, messages, SUBJECTS, strict=False)):
            due = at + delay
            left = suppressed_at.get(email)
            if due > now or (left and left <= due) or any(at < o <= due for o in orders.get(profile_id, [])):
                break
            digest = hashlib.sha256(f"{unique_id}:{n}".encode()).hexdigest()[:26].upper()
            props = {
                "$message": message,
                "$flow": flow.id,
                "Campaign Name": flow.name,
                "Subject": subject,
                "Email Domain": email.split("@")[-1],
            }
            out.append(Ev(digest, "Received Email", due, profile_id, props))
    return sorted(out, key=lambda e: (e.at, e.id))
