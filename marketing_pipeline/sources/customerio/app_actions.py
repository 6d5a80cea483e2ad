"""Customer.io App API actions: transactional email and push, API-triggered broadcasts, people lookups.

Mixed into ``CustomerIoAppClient``. Sends (``send_email``, ``send_push``) raise ``SendOutcomeUnknown``
when the request may have been delivered (5xx, a connection lost after sending), so callers never
send twice. ``send_to_unsubscribed`` defaults to true in the spec; these methods send ``false``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from marketing_pipeline.http import SendOutcomeUnknown, VendorError, cursor_pages

MAX_RECIPIENTS = 15  # to + bcc of one transactional email (spec)
MAX_SEARCH_LIMIT = 1000
ID_TYPES = ("id", "email", "cio_id")


def identifiers(person: str) -> dict:
    """``{"email": ...}`` for an address, else ``{"id": ...}`` (the spec takes exactly one)."""
    return {"email": person} if "@" in person else {"id": person}


class AppActions:
    def _send(self, path: str, body: dict) -> dict:
        try:
            return self.request("POST", path, json=body).json()
        except VendorError as exc:
            if exc.status is not None and exc.status >= 500:
                raise SendOutcomeUnknown(str(exc)) from exc
            raise
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            if isinstance(exc, httpx.ConnectError):
                raise VendorError(self.vendor, f"could not connect: {type(exc).__name__}") from exc
            raise SendOutcomeUnknown(f"{type(exc).__name__} after the request was sent") from exc

    def send_email(
        self,
        transactional_message_id: int | str,
        to: str,
        message_data: dict[str, Any],
        person: str | None = None,
        **options: Any,
    ) -> dict:
        """``POST /v1/send/email`` with a template; returns ``{delivery_id, queued_at}``."""
        if len([a for a in to.split(",") if a.strip()]) > MAX_RECIPIENTS:
            raise ValueError(f"at most {MAX_RECIPIENTS} recipients per transactional email")
        body = {
            "transactional_message_id": transactional_message_id,
            "to": to,
            "identifiers": identifiers(person or to),
            "message_data": message_data,
            "send_to_unsubscribed": False,
            **options,
        }
        return self._send("/v1/send/email", body)

    def send_push(
        self,
        transactional_message_id: int | str,
        person: str,
        message_data: dict | None = None,
        **options: Any,
    ) -> dict:
        """``POST /v1/send/push`` to every device of the person (``to: all``)."""
        body = {
            "transactional_message_id": transactional_message_id,
            "to": options.pop("to", "all"),
            "identifiers": identifiers(person),
            "message_data": message_data or {},
            "send_to_unsubscribed": False,
            **options,
        }
        return self._send("/v1/send/push", body)

    def trigger_broadcast(
        self,
        broadcast_id: int,
        *,
        emails: list[str] | None = None,
        ids: list[str] | None = None,
        data: dict | None = None,
    ) -> int:
        """``POST /v1/campaigns/{id}/triggers``: the broadcast's own audience, or these emails/ids. Returns the trigger id."""
        if emails and ids:
            raise ValueError("give emails or ids, not both")
        body: dict[str, Any] = {"data": data} if data else {}
        if emails:
            body.update(emails=emails, email_ignore_missing=True)
        elif ids:
            body.update(ids=ids, id_ignore_missing=True)
        return int(self.request("POST", f"/v1/campaigns/{broadcast_id}/triggers", json=body).json()["id"])

    def customers_by_email(self, email: str) -> list[dict]:
        """``GET /v1/customers?email=``: every person with that address (``email``, ``id``, ``cio_id``)."""
        return list(self.get("/v1/customers", email=email).get("results") or [])

    def search_customers(self, filter: dict, limit: int = MAX_SEARCH_LIMIT) -> Iterator[list[dict]]:
        """``POST /v1/customers`` with an audience filter: pages of identifiers, following ``next``."""
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_SEARCH_LIMIT}")

        def fetch(cursor: str | None):
            params = {"limit": limit, **({"start": cursor} if cursor else {})}
            body = self.request("POST", "/v1/customers", params=params, json={"filter": filter}).json()
            return list(body.get("identifiers") or []), body.get("next") or None

        return cursor_pages(fetch, self.stats)

    def customer_attributes(self, customer_id: str, id_type: str = "id") -> dict:
        """``GET /v1/customers/{id}/attributes``: the ``customer`` object (attributes, identifiers, devices)."""
        if id_type not in ID_TYPES:
            raise ValueError(f"id_type must be one of {ID_TYPES}")
        return self.get(f"/v1/customers/{quote(customer_id, safe='')}/attributes", id_type=id_type)[
            "customer"
        ]

    def customer_activities(
        self, customer_id: str, id_type: str = "id", type: str | None = None, limit: int = 100
    ) -> Iterator[list[dict]]:
        """``GET /v1/customers/{id}/activities``: pages of activities, newest first, following ``next``."""
        path = f"/v1/customers/{quote(customer_id, safe='')}/activities"

        def fetch(cursor: str | None):
            body = self.get(path, id_type=id_type, type=type, limit=limit, start=cursor)
            return list(body.get("activities") or []), body.get("next") or None

        return cursor_pages(fetch, self.stats)
