"""The body of one Klaviyo bulk event job (``POST /api/event-bulk-create-jobs``), for every sync that sends events."""

from __future__ import annotations


def bulk_create_job(events_by_email: dict[str, list[dict]]) -> dict:
    """One job: each profile (by email) with its events, in the order given."""
    return {
        "data": {
            "type": "event-bulk-create-job",
            "attributes": {
                "events-bulk-create": {
                    "data": [
                        {
                            "type": "event-bulk-create",
                            "attributes": {
                                "profile": {"data": {"type": "profile", "attributes": {"email": email}}},
                                "events": {"data": events},
                            },
                        }
                        for email, events in events_by_email.items()
                    ]
                }
            },
        }
    }
