"""Shared client machinery for every vendor: pacing, retries, typed errors, counters.

A vendor client subclasses ``ApiClient`` and overrides ``error_from`` to read its own error
body. Everything else (Retry-After, backoff with jitter, dropped connections, secret-free
logging, counters for asset metadata) is the same for all of them.
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
import tenacity

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {429, 500, 502, 503, 504, 524}
REDACTED = "[redacted]"


class VendorError(Exception):
    """A vendor answered with an error. Carries the vendor's own code and message."""

    def __init__(
        self,
        vendor: str,
        message: str,
        *,
        status: int | None = None,
        code: str | int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ):
        self.vendor, self.message, self.status, self.code = vendor, message, status, code
        self.request_id, self.retry_after = request_id, retry_after
        where = f"HTTP {status}" if status else "response"
        code_part = f" code {code}" if code not in (None, "") else ""
        super().__init__(f"{vendor} {where}{code_part}: {message}")

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUS


class SendOutcomeUnknown(Exception):
    """A send may have reached the vendor (timeout, dropped connection, 5xx): never send it again."""


class AuthError(VendorError):
    """Credentials were refused. Never retried: the fix is a new key."""

    @property
    def retryable(self) -> bool:
        return False


class MalformedRecord(ValueError):
    """A vendor record failed validation. Names the record and the fields that are wrong."""

    def __init__(self, vendor: str, kind: str, record_id: str | None, problems: str, payload: Any = None):
        self.vendor, self.kind, self.record_id, self.payload = vendor, kind, record_id, payload
        super().__init__(f"{vendor} {kind} {record_id or '(no id)'} is malformed: {problems}")

    @classmethod
    def from_validation(cls, vendor: str, kind: str, record_id: str | None, error: Any, payload: Any = None):
        """Build from a pydantic ``ValidationError``: each problem as ``field.path: message``."""
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(record)'}: {e['msg']}" for e in error.errors()
        )
        return cls(vendor, kind, record_id, problems, payload)


class MissingCredentials(ValueError):
    """A vendor is not configured. Raised before any call, naming every variable to set."""

    def __init__(self, vendor: str, variables: list[str]):
        self.variables = variables
        super().__init__(
            f"{vendor} is not configured: set {', '.join(variables)} "
            "(or run in sandbox mode, MARKETING_SANDBOX=1, for generated data)"
        )

    @classmethod
    def check(cls, vendor, resource, variables: tuple[str, ...] | None = None) -> None:
        """Raise when ``resource`` lacks a value ``vendor`` (a ``VendorSettings``) requires, or one
        of ``variables`` when a client needs other variables than the vendor's ingestion does."""
        values = resource.model_dump()
        if variables is None:
            missing = vendor.unset(values)
        else:
            field_of = {var: f for f, var in vendor.fields.items()}
            missing = [v for v in variables if not str(values.get(field_of[v]) or "").strip()]
        if missing:
            raise cls(vendor.name, missing)


@dataclass
class CallStats:
    """Counters a run reports as asset metadata."""

    calls: int = 0
    retries: int = 0
    bytes: int = 0
    pages: int = 0
    started: float = field(default_factory=time.monotonic)

    def metadata(self) -> dict[str, Any]:
        return {
            "api_calls": self.calls,
            "retries": self.retries,
            "bytes_received": self.bytes,
            "pages": self.pages,
            "seconds": round(time.monotonic() - self.started, 3),
        }


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verification, built once: loading the CA bundle costs ~0.1 s per client."""
    return httpx.create_ssl_context()


class RateLimiter:
    """Client-side pacing over several windows at once, e.g. Klaviyo's 10/s burst and 150/min steady.

    A sliding log of send times per window: ``acquire`` sleeps until every window has room.
    """

    def __init__(
        self,
        *limits: tuple[int, float],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.limits = [(n, float(period)) for n, period in limits]
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def acquire(self) -> None:
        if not self.limits:
            return
        longest = max(period for _, period in self.limits)
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and now - self._sent[0] >= longest:
                    self._sent.popleft()
                wait = 0.0
                for n, period in self.limits:
                    recent = [t for t in self._sent if now - t < period]
                    if len(recent) >= n:
                        wait = max(wait, period - (now - recent[-n]))
                if wait <= 0:
                    self._sent.append(now)
                    return
            self._sleep(wait)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as delay-seconds or an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def redact_params(params: dict[str, Any] | None, secret_names: frozenset[str]) -> dict[str, Any]:
    return {k: (REDACTED if k.lower() in secret_names else v) for k, v in (params or {}).items()}


class ApiClient:
    """Base for vendor clients: one ``httpx.Client`` (connection reuse), pacing and retries."""

    vendor = "vendor"
    secret_params: frozenset[str] = frozenset(
        {"sign", "access_token", "app_secret", "api_key", "key", "token"}
    )

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        retry_after_cap: float = 120.0,
        limiter: RateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        headers: dict[str, str] | None = None,
    ):
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            verify=_tls_context(),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            headers=headers,
        )
        self.max_attempts, self.backoff_base, self.backoff_cap = max_attempts, backoff_base, backoff_cap
        self.retry_after_cap = retry_after_cap
        self.limiter = limiter or RateLimiter()
        self.stats = CallStats()
        self._sleep = sleep

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- vendor hooks -------------------------------------------------------------------
    def error_from(self, response: httpx.Response) -> VendorError:
        """Turn an error response into a typed error. Vendors override to read their body."""
        kind = AuthError if response.status_code in (401, 403) else VendorError
        return kind(
            self.vendor,
            response.text[:500] or response.reason_phrase,
            status=response.status_code,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def prepare(self, method: str, path: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Last touch before each attempt (e.g. a fresh timestamp and signature). Default: as is."""
        return kwargs

    def limiter_for(self, method: str, path: str) -> RateLimiter:
        """The pacing bucket for an endpoint; vendors with tiers override."""
        return self.limiter

    # -- the one way to send ------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with pacing and retries; return a 2xx response or raise a ``VendorError``."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            retry=tenacity.retry_if_exception(self._is_retryable),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._before_retry,
            reraise=True,
        )
        return retrying(self._send_once, method, path, **kwargs)

    def _send_once(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.limiter_for(method, path).acquire()
        kwargs = self.prepare(method, path, dict(kwargs))
        self.stats.calls += 1
        started = time.monotonic()
        response = self.http.request(method, path, **kwargs)
        self.stats.bytes += len(response.content)
        log.debug(
            "%s %s %s params=%s -> %s %.0fms",
            self.vendor,
            method,
            path,
            redact_params(kwargs.get("params"), self.secret_params),
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        if response.is_success:
            return response
        raise self.error_from(response)

    @staticmethod
    def _is_retryable(exc: BaseException) -> bool:
        if isinstance(exc, VendorError):
            return exc.retryable
        return isinstance(exc, (httpx.TransportError, httpx.TimeoutException))

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        jitter = tenacity.wait_random_exponential(multiplier=self.backoff_base, max=self.backoff_cap)
        return jitter(state)

    def _before_retry(self, state: tenacity.RetryCallState) -> None:
        self.stats.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        reason = (
            exc if isinstance(exc, VendorError) else type(exc).__name__
        )  # never the URL: it may hold a key
        log.warning(
            "%s: retry %d of %d after %s", self.vendor, state.attempt_number, self.max_attempts - 1, reason
        )


T = TypeVar("T")


def cursor_pages(
    fetch: Callable[[Any], tuple[T, Any]], stats: CallStats | None = None, vendor: str = "vendor"
) -> Iterator[T]:
    """Yield pages from ``fetch(cursor) -> (page, next_cursor)`` until the cursor runs out.

    The one paging loop of every client: a cursor may be a token, a next link or an offset. One
    that repeats is a vendor bug that would loop forever; it raises instead.
    """
    cursor: Any = None
    seen: set = set()
    while True:
        page, cursor = fetch(cursor)
        if stats is not None:
            stats.pages += 1
        yield page
        if cursor is None or cursor == "":
            return
        if cursor in seen:
            raise VendorError(vendor, f"pagination cursor repeated ({str(cursor)[:60]}); refusing to loop")
        seen.add(cursor)
