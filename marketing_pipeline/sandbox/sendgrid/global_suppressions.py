"""SendGrid's global unsubscribe group in the sandbox (``/v3/asm/suppressions/global``), as the spec has it.

POST takes ``{"recipient_emails": [...]}`` and answers 201 with the addresses added; GET of
``/v3/asm/suppressions/global/{email}`` answers ``{"recipient_email": ...}`` when the address is
suppressed and ``{}`` otherwise. Kept in memory on the emulator, for tests and the demo to read.
"""

from __future__ import annotations

import json
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def routes(emulator) -> list[Route]:
    """Routes over ``emulator.global_unsubscribes`` (email -> created) guarded by its auth check."""

    async def add(request: Request) -> Response:
        if not emulator._authorized(request):
            return JSONResponse({"errors": [{"field": None, "message": "authorization required"}]}, 401)
        try:
            body = json.loads(await request.body())
            emails = body["recipient_emails"]
            assert isinstance(emails, list) and all(isinstance(e, str) and "@" in e for e in emails)
        except (ValueError, KeyError, TypeError, AssertionError):
            return JSONResponse(
                {
                    "errors": [
                        {"field": "recipient_emails", "message": "an array of email addresses is required"}
                    ]
                },
                400,
            )
        for email in emails:
            emulator.global_unsubscribes.setdefault(email.strip().lower(), int(time.time()))
        return JSONResponse({"recipient_emails": emails}, 201)

    async def get_one(request: Request) -> Response:
        if not emulator._authorized(request):
            return JSONResponse({"errors": [{"field": None, "message": "authorization required"}]}, 401)
        email = request.path_params["email"].strip().lower()
        return JSONResponse({"recipient_email": email} if email in emulator.global_unsubscribes else {})

    return [
        Route("/v3/asm/suppressions/global", add, methods=["POST"]),
        Route("/v3/asm/suppressions/global/{email:str}", get_one, methods=["GET"]),
    ]
