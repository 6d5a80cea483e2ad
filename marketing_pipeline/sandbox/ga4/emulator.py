"""A local GA4 Data API: ``runReport`` and a service-account token endpoint, under ``/ga4``.

Speaks the real path (``POST /v1beta/properties/{id}:runReport``), bearer auth, offset/limit
paging with ``rowCount``, typed ``metricHeaders`` with string values, ``(other)`` rows when a day
has more distinct rows than ``other_threshold``, and Google's error body
(``{"error": {code, message, status, details}}``) including 429 ``RESOURCE_EXHAUSTED``.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from marketing_pipeline.sandbox.credentials import GA4_ACCESS_TOKEN as SANDBOX_TOKEN
from marketing_pipeline.sandbox.credentials import GA4_PROPERTY_ID as SANDBOX_PROPERTY_ID
from marketing_pipeline.sandbox.ga4.data import Fact, day_facts
from marketing_pipeline.sandbox.world import World

DIMENSIONS = {"date", "sessionSource", "sessionMedium", "sessionCampaignName", "landingPage"}
METRIC_TYPES = {
    "sessions": "TYPE_INTEGER",
    "totalUsers": "TYPE_INTEGER",
    "newUsers": "TYPE_INTEGER",
    "engagedSessions": "TYPE_INTEGER",
    "keyEvents": "TYPE_INTEGER",
    "addToCarts": "TYPE_INTEGER",
    "checkouts": "TYPE_INTEGER",
    "ecommercePurchases": "TYPE_INTEGER",
    "purchaseRevenue": "TYPE_CURRENCY",
}
GRPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
}
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
# OAuth scopes that allow runReport: the discovery doc's ``resources.properties.methods.runReport.scopes``
# (ga4/analyticsdata.v1beta.json, revision 20261006); a token is granted when it asks for either.
RUN_REPORT_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/analytics",
        "https://www.googleapis.com/auth/analytics.readonly",
    }
)
TOKENS_PER_HOUR = 40_000  # standard property quota (discovery doc, PropertyQuota)
TOKENS_PER_REQUEST = 10


def error(status: int, message: str, details: list | None = None) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "code": status,
                "message": message,
                "status": GRPC_STATUS.get(status, "UNKNOWN"),
                "details": details or [],
            }
        },
        status_code=status,
    )


class GA4Emulator:
    def __init__(self, world: World, other_threshold: int = 50):
        self.world = world
        self.other_threshold = other_threshold
        self.exhaust_next = 0  # tests: refuse this many coming requests with RESOURCE_EXHAUSTED
        self.requests: list[dict] = []  # request bodies as received (conformance tests read them)
        self.tokens: set[str] = {SANDBOX_TOKEN}
        self._used: list[tuple[float, int]] = []
        self._key = None
        self._facts = lru_cache(maxsize=128)(self._day_facts)

    # -- service-account key and token endpoint ----------------------------------------
    def service_account_info(self, token_uri: str) -> dict:
        """A service-account key whose tokens this emulator accepts (write it to GA4_CREDENTIALS_JSON)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        if self._key is None:
            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return {
            "type": "service_account",
            "project_id": "sandbox",
            "private_key_id": "sandbox-key",
            "private_key": pem,
            "client_email": "pipeline@sandbox.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": token_uri,
        }

    async def token(self, request: Request) -> JSONResponse:
        from cryptography.hazmat.primitives import serialization
        from google.auth import jwt

        form = await request.form()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or self._key is None:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "unsupported grant"}, status_code=400
            )
        public = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        try:
            # google-auth always addresses the assertion to Google's token URL, whichever URL it posts to
            claims = jwt.decode(
                str(form.get("assertion", "")), certs=public, audience=[GOOGLE_TOKEN_URL, str(request.url)]
            )
        except ValueError as exc:
            return JSONResponse({"error": "invalid_grant", "error_description": str(exc)}, status_code=400)
        if not RUN_REPORT_SCOPES.intersection(str(claims.get("scope", "")).split()):
            return JSONResponse(
                {"error": "invalid_scope", "error_description": "scope missing"}, status_code=400
            )
        token = "ya29.sandbox-" + secrets.token_urlsafe(16)
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    # -- runReport ------------------------------------------------------------------------
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1beta/properties/{property_id}:runReport", self.run_report, methods=["POST"]),
                Route("/token", self.token, methods=["POST"]),
            ]
        )

    def _quota(self) -> tuple[bool, dict]:
        now = time.monotonic()
        self._used = [(t, n) for t, n in self._used if now - t < 3600]
        used = sum(n for _, n in self._used)
        if self.exhaust_next > 0 or used + TOKENS_PER_REQUEST > TOKENS_PER_HOUR:
            self.exhaust_next = max(0, self.exhaust_next - 1)
            return False, {}
        self._used.append((now, TOKENS_PER_REQUEST))
        remaining = TOKENS_PER_HOUR - used - TOKENS_PER_REQUEST
        return True, {"tokensPerHour": {"consumed": TOKENS_PER_REQUEST, "remaining": remaining}}

    async def run_report(self, request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return error(
                401, "Request is missing required authentication credential. Expected OAuth 2 access token."
            )
        if auth[7:] not in self.tokens:
            return error(
                401, "Request had invalid authentication credentials. Expected OAuth 2 access token."
            )
        if request.path_params["property_id"] != SANDBOX_PROPERTY_ID:
            return error(403, "User does not have sufficient permissions for this property.")
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
        except ValueError as exc:
            return error(400, f"Invalid JSON payload received. {exc}")
        self.requests.append(body)
        ok, quota = self._quota()
        if not ok:
            return error(
                429,
                "Exhausted property tokens per hour. Try again later.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "RATE_LIMIT_EXCEEDED",
                        "domain": "analyticsdata.googleapis.com",
                        "metadata": {"quota_limit": "tokensPerHour"},
                    }
                ],
            )
        try:
            report = self._report(body)
        except ValueError as exc:
            return error(400, str(exc))
        if body.get("returnPropertyQuota"):
            report["propertyQuota"] = quota
        return JSONResponse(report)

    def _report(self, body: dict) -> dict:
        dims = [d.get("name") for d in body.get("dimensions") or []]
        metrics = [m.get("name") for m in body.get("metrics") or []]
        for d in dims:
            if d not in DIMENSIONS:
                raise ValueError(
                    f"Field {d} is not a valid dimension. For a list of valid dimensions and metrics, "
                    "see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
                )
        if not metrics:
            raise ValueError("A report must request at least one metric.")
        for m in metrics:
            if m not in METRIC_TYPES:
                raise ValueError(f"Field {m} is not a valid metric.")
        ranges = body.get("dateRanges") or []
        if len(ranges) != 1:
            raise ValueError("The sandbox serves exactly one dateRange per request.")
        first, last = self._date(ranges[0].get("startDate")), self._date(ranges[0].get("endDate"))
        if last < first:
            raise ValueError("dateRanges[0]: endDate must not be before startDate.")
        limit, offset = (
            self._int(body.get("limit", 10_000), "limit"),
            self._int(body.get("offset", 0), "offset"),
        )
        if not 1 <= limit <= 250_000:
            raise ValueError("limit must be positive and at most 250000.")
        rows, other = [], False
        day = first
        while day <= last:
            day_rows, folded = self._day_rows(day, dims, metrics)
            rows.extend(day_rows)
            other |= folded
            day += timedelta(days=1)
        page = rows[offset : offset + limit]
        out = {
            "dimensionHeaders": [{"name": d} for d in dims],
            "metricHeaders": [{"name": m, "type": METRIC_TYPES[m]} for m in metrics],
            "rowCount": len(rows),
            "metadata": {
                "currencyCode": self.world.currency,
                "timeZone": str(self.world.tz),
                **({"dataLossFromOtherRow": True} if other else {}),
            },
            "kind": "analyticsData#runReport",
        }
        if page:
            out["rows"] = page
        return out

    def _day_facts(self, day: date) -> list[Fact]:
        return day_facts(self.world, day, self.world.tz)

    def _day_rows(self, day: date, dims: list[str], metrics: list[str]) -> tuple[list[dict], bool]:
        keyed = [d for d in dims if d != "date"]
        sums: dict[tuple, dict] = defaultdict(lambda: defaultdict(Decimal))
        for fact in self._facts(day):
            bucket = sums[fact.key(keyed)]
            for m in metrics:
                bucket[m] += fact.metrics[m]
        ordered = sorted(sums.items(), key=lambda kv: (-kv[1].get("sessions", 0), kv[0]))
        folded = len(ordered) > self.other_threshold and bool(keyed)
        if folded:
            keep, rest = ordered[: self.other_threshold - 1], ordered[self.other_threshold - 1 :]
            other: dict = defaultdict(Decimal)
            for _, values in rest:
                for m in metrics:
                    other[m] += values[m]
            ordered = [*keep, (tuple("(other)" for _ in keyed), other)]
        rows = []
        for key, values in ordered:
            named = dict(zip(keyed, key, strict=True))
            rows.append(
                {
                    "dimensionValues": [
                        {"value": day.strftime("%Y%m%d") if d == "date" else named[d]} for d in dims
                    ],
                    "metricValues": [{"value": _fmt(values[m], METRIC_TYPES[m])} for m in metrics],
                }
            )
        return rows, folded

    def _date(self, value: str | None) -> date:
        today = datetime.now(self.world.tz).date()
        if value == "today":
            return today
        if value == "yesterday":
            return today - timedelta(days=1)
        match = re.fullmatch(r"(\d+)daysAgo", value or "")
        if match:
            return today - timedelta(days=int(match.group(1)))
        try:
            return date.fromisoformat(value or "")
        except ValueError:
            raise ValueError(
                f"Invalid date {value!r}: use YYYY-MM-DD, NdaysAgo, yesterday or today."
            ) from None

    @staticmethod
    def _int(value, name: str) -> int:
        try:
            out = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an integer.") from None
        if out < 0:
            raise ValueError(f"{name} must not be negative.")
        return out


def _fmt(value: Decimal, kind: str) -> str:
    return str(int(value)) if kind == "TYPE_INTEGER" else format(value.quantize(Decimal("0.01")), "f")
