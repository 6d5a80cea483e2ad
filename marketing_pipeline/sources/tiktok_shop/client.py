"""TikTok Shop Partner API client: signs every call, sends the token and shop cipher, pages orders."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx

from marketing_pipeline.http import (
    ApiClient,
    AuthError,
    RateLimiter,
    VendorError,
    cursor_pages,
    parse_retry_after,
)
from marketing_pipeline.sources.tiktok_shop.models import Order, parse_order
from marketing_pipeline.sources.tiktok_shop.signing import sign_request

API_BASE_URL = "https://open-api.tiktokglobalshop.com"
MAX_PAGE_SIZE = 100
# Codes EcomPHP treats as token/credential problems (105xxx, 360xxx) and the invalid-sign code.
_AUTH_CODE_PREFIXES = ("105", "360", "106")


class TikTokShopClient(ApiClient):
    vendor = "TikTok Shop"

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        access_token: str,
        shop_cipher: str | None = None,
        **kwargs: Any,
    ):
        kwargs.setdefault("limiter", RateLimiter((20, 1.0)))  # no published limit; stay polite
        super().__init__(base_url, **kwargs)
        self.app_key, self._app_secret, self._access_token = app_key, app_secret, access_token
        self._shop_cipher = shop_cipher or None
        self.clock = time.time

    # -- signing, each attempt afresh (the timestamp must be current) ---------------------
    def prepare(self, method: str, path: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        params = {k: v for k, v in (kwargs.pop("params", None) or {}).items() if k != "sign"}
        params["app_key"] = self.app_key
        params["timestamp"] = str(int(self.clock()))
        body: bytes = kwargs.get("content") or b""
        params["sign"] = sign_request(self._app_secret, path, params, body)
        headers = {
            **(kwargs.pop("headers", None) or {}),
            "x-tts-access-token": self._access_token,
            "Content-Type": "application/json",
        }
        return {**kwargs, "params": params, "headers": headers}

    def error_from(self, response: httpx.Response) -> VendorError:
        try:
            envelope = response.json()
            code, message = envelope.get("code"), envelope.get("message") or response.reason_phrase
            request_id = envelope.get("request_id")
        except ValueError:
            code, message, request_id = None, response.text[:300] or response.reason_phrase, None
        kind = (
            AuthError
            if str(code or "").startswith(_AUTH_CODE_PREFIXES) or response.status_code == 401
            else VendorError
        )
        return kind(
            self.vendor,
            message,
            status=response.status_code,
            code=code,
            request_id=request_id,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        body: dict | None = None,
        shop_scoped: bool = True,
    ) -> dict:
        """One signed call; returns the envelope's ``data`` or raises with TikTok's code and message."""
        params = dict(params or {})
        if shop_scoped:
            params["shop_cipher"] = self.shop_cipher()
        content = json.dumps(body, separators=(",", ":")).encode() if body else b""
        response = self.request(method, path, params=params, content=content)
        envelope = response.json()
        if envelope.get("code") not in (0, "0"):
            raise self.error_from(response)
        return envelope.get("data") or {}

    def shop_cipher(self) -> str:
        if self._shop_cipher is None:
            shops = self.call("GET", "/authorization/202309/shops", shop_scoped=False).get("shops") or []
            if not shops:
                raise VendorError(self.vendor, "this access token is authorized for no shop")
            self._shop_cipher = shops[0]["cipher"]
        return self._shop_cipher

    # -- orders ---------------------------------------------------------------------------
    def search_orders(
        self, created_from: datetime, created_to: datetime, *, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[list[Order]]:
        """Pages of orders with ``created_from <= create_time < created_to``, oldest first."""
        return self._pages(
            {"create_time_ge": int(created_from.timestamp()), "create_time_lt": int(created_to.timestamp())},
            "create_time",
            page_size,
        )

    def search_orders_updated(
        self, updated_from: datetime, updated_to: datetime, *, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[list[Order]]:
        return self._pages(
            {"update_time_ge": int(updated_from.timestamp()), "update_time_lt": int(updated_to.timestamp())},
            "update_time",
            page_size,
        )

    def _pages(self, filters: dict, sort_field: str, page_size: int) -> Iterator[list[Order]]:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")

        def fetch(token: str | None) -> tuple[list[Order], str | None]:
            params = {"page_size": page_size, "sort_field": sort_field, "sort_order": "ASC"}
            if token:
                params["page_token"] = token
            data = self.call("POST", "/order/202309/orders/search", params=params, body=filters)
            return [parse_order(raw) for raw in data.get("orders") or []], data.get("next_page_token")

        return cursor_pages(fetch, self.stats, self.vendor)
