"""A local TikTok Shop Partner API: the real paths, signature and token checks, paging and filters.

Mounted by the sandbox under ``/tiktok-shop``. Orders come from the sandbox brand; a line item
is listed per unit sold, as TikTok does. Error envelopes carry TikTok's codes: 106001 for a bad
signature (seen in a public error response), 105001 for a bad token (assumed: EcomPHP treats
105xxx as token errors), 36009003 for a malformed request (assumed).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from marketing_pipeline.sandbox import credentials
from marketing_pipeline.sandbox.tiktok_shop import signature
from marketing_pipeline.sandbox.world import Order, World

APP_KEY = credentials.TIKTOK_APP_KEY
APP_SECRET = credentials.TIKTOK_APP_SECRET
ACCESS_TOKEN = credentials.TIKTOK_ACCESS_TOKEN
SHOP_CIPHER = "GCP_SANDBOX_SHOP_CIPHER"
SHOP_ID = "7495609988000000001"
TIMESTAMP_TOLERANCE = 300
# The generated brand updates an order at most 8 days after its creation (World._status).
GENERATED_UPDATE_LAG = timedelta(days=9)


def envelope(code: int, message: str, data: dict | None = None, status: int = 200) -> JSONResponse:
    body = {"code": code, "message": message, "request_id": uuid.uuid4().hex}
    if data is not None:
        body["data"] = data
    return JSONResponse(body, status_code=status)


def order_json(o: Order) -> dict:
    """The sandbox order in TikTok's shape: strings for money, Unix seconds for times."""
    items = []
    for line in o.lines:
        unit_discount = (line.discount / line.quantity).quantize(line.unit_price)
        for unit in range(line.quantity):
            items.append(
                {
                    "id": f"{o.order_id}{line.line_id.replace('-', '')}{unit}",
                    "sku_id": line.product.sku_id,
                    "product_id": line.product.product_id,
                    "product_name": line.product.name,
                    "sku_name": line.product.variant,
                    "seller_sku": f"LL-{line.product.sku_id[-6:]}",
                    "sku_image": line.product.image_url,
                    "sale_price": str(line.unit_price - unit_discount),
                    "original_price": str(line.unit_price),
                    "seller_discount": str(unit_discount),
                    "platform_discount": "0.00",
                    "currency": o.currency,
                    "display_status": o.status,
                }
            )
    c = o.customer
    return {
        "id": o.order_id,
        "status": o.status,
        "create_time": int(o.created_at.timestamp()),
        "update_time": int(o.updated_at.timestamp()),
        **({"paid_time": int(o.paid_at.timestamp())} if o.paid_at else {}),
        "user_id": c.tiktok_user_id,
        "buyer_email": c.email,
        "payment": {
            "currency": o.currency,
            "sub_total": str(o.subtotal - o.discount),
            "original_total_product_price": str(o.subtotal),
            "shipping_fee": str(o.shipping),
            "seller_discount": str(o.discount),
            "platform_discount": "0.00",
            "tax": str(o.tax),
            "total_amount": str(o.total),
        },
        "line_items": items,
        "recipient_address": {
            "name": f"{c.first_name} {c.last_name}",
            "first_name": c.first_name,
            "last_name": c.last_name,
            "phone_number": c.phone,
            "region_code": "US",
        },
        "shipping_type": "TIKTOK",
        "order_type": "NORMAL",
        "commerce_platform": "TIKTOK_SHOP",
    }


class TikTokShopEmulator:
    def __init__(self, world: World):
        self.world = world
        self.requests = 0
        self.changed: dict[str, Order] = {}  # order id -> the order as changed after generation

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/authorization/202309/shops", self.shops, methods=["GET"]),
                Route("/order/202309/orders/search", self.search, methods=["POST"]),
                Route("/order/202309/orders", self.detail, methods=["GET"]),
                Route("/_sandbox/orders/{order_id}", self.change, methods=["POST"]),
            ]
        )

    async def _check(self, request: Request, shop_scoped: bool = True) -> tuple[bytes, JSONResponse | None]:
        self.requests += 1
        body = await request.body()
        q = dict(request.query_params)
        if q.get("app_key") != APP_KEY:
            return body, envelope(106001, "Invalid credentials. The 'app_key' is invalid", status=401)
        try:
            ts = int(q.get("timestamp", ""))
        except ValueError:
            return body, envelope(
                106001, "Invalid credentials. The 'timestamp' query parameter is missing", status=401
            )
        if abs(time.time() - ts) > TIMESTAMP_TOLERANCE:
            return body, envelope(106001, "Invalid credentials. The 'timestamp' has expired", status=401)
        path = request.url.path[len(request.scope.get("root_path", "")) :] or "/"
        if not signature.valid(APP_SECRET, path, q, body, request.headers.get("content-type", "")):
            return body, envelope(
                106001, "Invalid credentials. The 'sign' query parameter is invalid", status=401
            )
        if request.headers.get("x-tts-access-token") != ACCESS_TOKEN:
            return body, envelope(105001, "Invalid access token. Please check x-tts-access-token", status=401)
        if shop_scoped and q.get("shop_cipher") != SHOP_CIPHER:
            return body, envelope(106011, "Invalid shop_cipher", status=400)
        return body, None

    async def shops(self, request: Request) -> JSONResponse:
        _, err = await self._check(request, shop_scoped=False)
        if err:
            return err
        return envelope(
            0,
            "Success",
            {
                "shops": [
                    {
                        "id": SHOP_ID,
                        "cipher": SHOP_CIPHER,
                        "name": self.world.brand,
                        "region": "US",
                        "seller_type": "LOCAL",
                        "code": "USLCLUMEN",
                    }
                ]
            },
        )

    async def search(self, request: Request) -> JSONResponse:
        body, err = await self._check(request)
        if err:
            return err
        q = request.query_params
        try:
            page_size = int(q.get("page_size", ""))
            filters = json.loads(body) if body else {}
            if not isinstance(filters, dict):
                raise ValueError("body must be a JSON object")
        except ValueError as exc:
            return envelope(
                36009003, f"Invalid request: page_size is required and body must be JSON ({exc})", status=400
            )
        if not 1 <= page_size <= 100:
            return envelope(36009003, "Invalid request: page_size must be in [1, 100]", status=400)
        sort_field = q.get("sort_field", "create_time")
        if sort_field not in ("create_time", "update_time"):
            return envelope(
                36009003, "Invalid request: sort_field must be create_time or update_time", status=400
            )
        orders = self._filter(filters)
        key = (
            (lambda o: (o.created_at, o.order_id))
            if sort_field == "create_time"
            else (lambda o: (o.updated_at, o.order_id))
        )
        orders.sort(key=key, reverse=q.get("sort_order", "DESC") == "DESC")
        offset = 0
        if q.get("page_token"):
            try:
                offset = int(base64.urlsafe_b64decode(q["page_token"].encode()).decode().split(":")[1])
            except (ValueError, IndexError):
                return envelope(36009003, "Invalid request: page_token is invalid", status=400)
        page = orders[offset : offset + page_size]
        next_offset = offset + page_size
        token = (
            base64.urlsafe_b64encode(f"v1:{next_offset}".encode()).decode()
            if next_offset < len(orders)
            else ""
        )
        return envelope(
            0,
            "Success",
            {"orders": [order_json(o) for o in page], "next_page_token": token, "total_count": len(orders)},
        )

    def _filter(self, f: dict) -> list[Order]:
        now = int(time.time())
        ts = datetime.fromtimestamp
        c_ge, c_lt = f.get("create_time_ge"), f.get("create_time_lt")
        u_ge, u_lt = f.get("update_time_ge"), f.get("update_time_lt")
        start = ts(int(c_ge if c_ge is not None else 0), UTC)
        end = ts(int(c_lt if c_lt is not None else now), UTC)
        generated_start = start
        if u_ge is not None and c_ge is None:  # only orders created shortly before can have generated updates
            generated_start = ts(int(u_ge), UTC) - GENERATED_UPDATE_LAG
        orders = [
            o
            for o in self.world.orders_between(generated_start, end)
            if o.channel == "tiktok_shop" and o.order_id not in self.changed
        ]
        orders += [o for o in self.changed.values() if start <= o.created_at < end]
        if u_ge is not None or u_lt is not None:
            lo, hi = int(u_ge or 0), int(u_lt or now)
            orders = [o for o in orders if lo <= o.updated_at.timestamp() < hi]
        if f.get("order_status"):
            orders = [o for o in orders if o.status == f["order_status"]]
        if f.get("buyer_user_id"):
            orders = [o for o in orders if o.customer.tiktok_user_id == f["buyer_user_id"]]
        return orders

    async def detail(self, request: Request) -> JSONResponse:
        _, err = await self._check(request)
        if err:
            return err
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 50:
            return envelope(36009003, "Invalid request: ids must list 1 to 50 order ids", status=400)
        found = [order_json(o) for o in map(self._order, ids) if o is not None]
        return envelope(0, "Success", {"orders": found})

    def _order(self, oid: str) -> Order | None:
        if oid in self.changed:
            return self.changed[oid]
        if oid.startswith("57") and len(oid) >= 13 and oid[2:7].isdigit():
            day = date(2020, 1, 1) + timedelta(days=int(oid[2:7]))  # the day is encoded in the id
            return next((o for o in self.world.orders_on(day) if o.order_id == oid), None)
        return None

    async def change(self, request: Request) -> JSONResponse:
        """Sandbox control, not TikTok's API: change an order's status as the seller or buyer would.

        Body ``{"status": "CANCELLED", "update_time": <unix seconds, default now>}``.
        """
        order = self._order(request.path_params["order_id"])
        if order is None:
            return JSONResponse({"error": "no such order"}, status_code=404)
        body = await request.json()
        updated = datetime.fromtimestamp(int(body.get("update_time") or time.time()), UTC)
        paid = None if body["status"] in ("UNPAID", "CANCELLED") and order.paid_at is None else order.paid_at
        self.changed[order.order_id] = dataclasses.replace(
            order, status=body["status"], updated_at=updated, paid_at=paid
        )
        return JSONResponse(order_json(self.changed[order.order_id]))
