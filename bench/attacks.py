"""Replay every attack of the public endpoints probe against a running web app; count the outcomes.

Each attack is one HTTP request (signed with the test keys where the route verifies a signature,
so the attack reaches the code behind the check) and what must hold afterwards. Counted:
5xx answers, attacks accepted wrongly (an unexpected status, or the state check failing), and
bodies refused without a dead letter. The suite runs each attack as its own test
(``test_attacks.py``, ids = attack names); this script prints the totals:

    .venv/bin/python bench/attacks.py

Server: ``BENCH_DATABASE_URL`` or ``MARKETING_TEST_DATABASE_URL`` or the warehouse; a scratch
database is created and dropped. The concurrency attacks (double sends, lost sequences) run
through the recovery job against the SendGrid emulator (``run_concurrency``).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marketing_pipeline.sources.customerio.signing import sign as cio_sign  # noqa: E402
from marketing_pipeline.sources.tiktok_shop.signing import sign_webhook  # noqa: E402

WRITE_KEY = "wk_attack_test"
TIKTOK_KEY, TIKTOK_SECRET = "attack-app-key", "attack-app-secret"
CIO_KEY = "attack-cio-signing-key"
ENV = {
    "WEBSITE_WRITE_KEY": WRITE_KEY,
    "TIKTOK_SHOP_APP_KEY": TIKTOK_KEY,
    "TIKTOK_SHOP_APP_SECRET": TIKTOK_SECRET,
    "CUSTOMERIO_WEBHOOK_SIGNING_KEY": CIO_KEY,
    "DASHBOARD_PASSWORD": "attack-dashboard-password",
}
VICTIM_ORDER = "576000000000000001"
VICTIM_CART = f"tts:{VICTIM_ORDER}"
VICTIM_EMAIL = "real.buyer@example.com"
AT = "2026-03-02T15:00:00+00:00"
DEEP = 100_000  # as probed; objects nest fewer levels to stay under the 256 KB body limit
DEEP_OBJECT = 25_000


def ev(**kw) -> dict:
    base = {
        "event_id": f"evt-{secrets.token_hex(6)}",
        "type": "cart_created",
        "cart_id": "c-attack",
        "occurred_at": AT,
    }
    return {**base, **kw}


def item(**kw) -> dict:
    return {"sku_id": "S1", "name": "Glow Serum", "unit_price": "34.00", **kw}


def cio_event(**kw) -> dict:
    return {
        "event_id": f"cio-{secrets.token_hex(6)}",
        "object_type": "email",
        "metric": "delivered",
        "timestamp": 1772463600,
        "data": {"recipient": "someone@example.com"},
        **kw,
    }


def tts_envelope(data, **kw) -> dict:
    return {
        "type": 1,
        "tts_notification_id": f"n-{secrets.token_hex(6)}",
        "timestamp": 1772463600,
        "data": data,
        **kw,
    }


@dataclass
class Attack:
    name: str
    path: str
    body: bytes = b""
    auth: str | None = None  # website | tiktok | customerio | None (send as is)
    headers: dict = field(default_factory=dict)
    method: str = "POST"
    expect: tuple[int, ...] = (400,)
    dead_letter: bool = True  # a refused body from outside must be kept
    holds: Callable[[psycopg.Connection], bool] | None = None  # state afterwards

    def request(self, client: httpx.Client) -> httpx.Response:
        headers = {"Content-Type": "application/json", **self.headers}
        if self.auth == "website":
            headers["Authorization"] = f"Bearer {WRITE_KEY}"
        elif self.auth == "tiktok":
            headers["Authorization"] = sign_webhook(TIKTOK_KEY, TIKTOK_SECRET, self.body)
        elif self.auth == "customerio":
            ts = str(int(datetime.now(UTC).timestamp()))
            headers |= {"X-CIO-Timestamp": ts, "X-CIO-Signature": cio_sign(CIO_KEY, ts, self.body)}
        raw = {
            k: v.encode() if isinstance(v, str) else v for k, v in headers.items()
        }  # non-ASCII as UTF-8 bytes
        return client.request(self.method, self.path, content=self.body or None, headers=raw)


def j(value) -> bytes:
    return json.dumps(value).encode()


def _victim_intact(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "SELECT email, item_count FROM ops.carts WHERE cart_id = %s", (VICTIM_CART,)
    ).fetchone()
    urls = [
        u
        for (u,) in conn.execute("SELECT product_url FROM ops.cart_items WHERE cart_id = %s", (VICTIM_CART,))
    ]
    return row == (VICTIM_EMAIL, 1) and all(u.startswith("https://shop.tiktok.com/") for u in urls)


def _no_suppression(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT count(*) FROM ops.suppressions").fetchone()[0] == 0


def _no_cart(cart_id: str) -> Callable[[psycopg.Connection], bool]:
    return lambda conn: (
        conn.execute("SELECT count(*) FROM ops.carts WHERE cart_id = %s", (cart_id,)).fetchone()[0] == 0
    )


ATTACKS: list[Attack] = [
    # 1. 500s on the intake
    Attack("intake_json_nested_100000_deep", "/intake/cart-events", b"[" * DEEP + b"]" * DEEP, "website"),
    Attack(
        "intake_object_nested_25000_deep",
        "/intake/cart-events",
        b'{"a":' * DEEP_OBJECT + b"1" + b"}" * DEEP_OBJECT,
        "website",
    ),
    Attack(
        "intake_nul_escape_in_cart_id",
        "/intake/cart-events",
        j(ev(cart_id="c\u0000x")),
        "website",
    ),
    Attack(
        "intake_nul_escape_in_item_name",
        "/intake/cart-events",
        j(ev(type="item_added", item=item(name="a\u0000b"))),
        "website",
    ),
    Attack(
        "intake_raw_nul_byte_in_body",
        "/intake/cart-events",
        b'{"event_id": "evt-\x00-raw", "type": "cart_created"}',
        "website",
    ),
    Attack("intake_invalid_utf8_and_nul", "/intake/cart-events", b"\xff\xfe\x00\x00garbage", "website"),
    Attack("intake_lone_surrogate", "/intake/cart-events", j(ev(cart_id="c-\ud800")), "website"),
    Attack("intake_empty_list", "/intake/cart-events", b"[]", "website"),
    Attack("intake_501_events", "/intake/cart-events", j([ev() for _ in range(501)]), "website"),
    # 2. poison cart: times a datetime cannot hold once in UTC
    Attack(
        "poison_cart_year_one_plus_14h",
        "/intake/cart-events",
        j(ev(cart_id="c-poison", occurred_at="0001-01-01T00:00:00+14:00")),
        "website",
        holds=_no_cart("c-poison"),
    ),
    Attack(
        "poison_cart_year_9999_minus_14h",
        "/intake/cart-events",
        j(ev(cart_id="c-poison2", occurred_at="9999-12-31T23:59:59-14:00")),
        "website",
        holds=_no_cart("c-poison2"),
    ),
    Attack(
        "poison_cart_far_future",
        "/intake/cart-events",
        j(ev(cart_id="c-poison3", occurred_at="2090-01-01T00:00:00+00:00")),
        "website",
        holds=_no_cart("c-poison3"),
    ),
    # 3. TikTok cart takeover with the publishable write key
    Attack(
        "tiktok_cart_takeover_contact_identified",
        "/intake/cart-events",
        j(ev(type="contact_identified", cart_id=VICTIM_CART, email="attacker@evil.example")),
        "website",
        holds=_victim_intact,
    ),
    Attack(
        "tiktok_cart_takeover_phishing_product_url",
        "/intake/cart-events",
        j(
            ev(
                type="cart_updated",
                cart_id=VICTIM_CART,
                items=[item(product_url="https://evil.example/phish")],
            )
        ),
        "website",
        holds=_victim_intact,
    ),
    Attack(
        "tiktok_event_id_preemption",
        "/intake/cart-events",
        j(ev(event_id="tts:n-future:cart", cart_id="c-pre")),
        "website",
        holds=_no_cart("c-pre"),
    ),
    # 6. smaller ones
    Attack(
        "javascript_image_url",
        "/intake/cart-events",
        j(ev(type="item_added", item=item(image_url="javascript:alert(1)"))),
        "website",
    ),
    Attack(
        "data_uri_product_url",
        "/intake/cart-events",
        j(ev(type="item_added", item=item(product_url="data:text/html,<script>alert(1)</script>"))),
        "website",
    ),
    Attack(
        "html_in_email_address",
        "/intake/cart-events",
        j(ev(type="contact_identified", email="<img src=x onerror=alert(5)>@example.com")),
        "website",
    ),
    Attack(
        "email_without_domain_dot",
        "/intake/cart-events",
        j(ev(type="contact_identified", email="a@b")),
        "website",
    ),
    # unsigned requests with odd header bytes: refused, nothing stored
    Attack(
        "customerio_non_ascii_signature",
        "/webhooks/customerio",
        j(cio_event()),
        None,
        {"X-CIO-Timestamp": str(int(datetime.now(UTC).timestamp())), "X-CIO-Signature": "\u00e9" * 64},
        expect=(401,),
        dead_letter=False,
    ),
    Attack(
        "customerio_huge_timestamp_header",
        "/webhooks/customerio",
        j(cio_event()),
        None,
        {"X-CIO-Timestamp": "1" + "0" * 40, "X-CIO-Signature": "00"},
        expect=(401,),
        dead_letter=False,
    ),
    Attack(
        "tiktok_non_ascii_authorization",
        "/webhooks/tiktok-shop",
        j(tts_envelope({"order_id": "1"})),
        None,
        {"Authorization": "\u00e9\u00e8" * 32},
        expect=(401,),
        dead_letter=False,
    ),
    Attack(
        "website_non_ascii_write_key",
        "/intake/cart-events",
        j(ev()),
        None,
        {"X-Write-Key": "\u00e9"},
        expect=(401,),
        dead_letter=False,
    ),
    # signed bodies that used to break the webhook code
    Attack("customerio_timestamp_1e12", "/webhooks/customerio", j(cio_event(timestamp=10**12)), "customerio"),
    Attack("customerio_timestamp_1e20", "/webhooks/customerio", j(cio_event(timestamp=10**20)), "customerio"),
    Attack(
        "customerio_nul_in_event",
        "/webhooks/customerio",
        j(cio_event(data={"recipient": "a\u0000@example.com"})),
        "customerio",
    ),
    Attack(
        "customerio_nested_25000_deep",
        "/webhooks/customerio",
        b'{"data":' * DEEP_OBJECT + b"1" + b"}" * DEEP_OBJECT,
        "customerio",
    ),
    Attack(
        "customerio_object_as_delivery_id",
        "/webhooks/customerio",
        j(cio_event(data={"delivery_id": {"x": 1}})),
        "customerio",
        expect=(200,),
        dead_letter=False,
    ),
    Attack(
        "tiktok_update_time_abc",
        "/webhooks/tiktok-shop",
        j(tts_envelope({"order_id": VICTIM_ORDER, "order_status": "UNPAID", "update_time": "abc"})),
        "tiktok",
    ),
    Attack(
        "tiktok_update_time_1e20",
        "/webhooks/tiktok-shop",
        j(tts_envelope({"order_id": VICTIM_ORDER, "order_status": "UNPAID", "update_time": 10**20})),
        "tiktok",
    ),
    Attack("tiktok_data_is_a_list", "/webhooks/tiktok-shop", j(tts_envelope([1, 2])), "tiktok"),
    Attack(
        "tiktok_order_id_is_an_object",
        "/webhooks/tiktok-shop",
        j(tts_envelope({"order_id": {"$ne": 1}})),
        "tiktok",
    ),
    Attack(
        "tiktok_nested_100000_deep",
        "/webhooks/tiktok-shop",
        b'{"type":1,"data":' * 1 + b"[" * DEEP + b"]" * DEEP + b"}",
        "tiktok",
    ),
    # links
    Attack(
        "unsubscribe_by_mail_scanner_get",
        "/u/TOKEN",
        method="GET",
        expect=(200,),
        dead_letter=False,
        holds=_no_suppression,
    ),
    Attack(
        "unsubscribe_by_mail_scanner_head",
        "/u/TOKEN",
        method="HEAD",
        expect=(200,),
        dead_letter=False,
        holds=_no_suppression,
    ),
    Attack("forged_recovery_token", "/r/FORGED", method="GET", expect=(404,), dead_letter=False),
    Attack(
        "forged_unsubscribe_token_post",
        "/u/FORGED",
        method="POST",
        expect=(404,),
        dead_letter=False,
        holds=_no_suppression,
    ),
    # the dashboard
    Attack(
        "dashboard_data_without_login", "/dashboard/api/data", method="GET", expect=(401,), dead_letter=False
    ),
    Attack("dashboard_page_without_login", "/dashboard", method="GET", expect=(303,), dead_letter=False),
    Attack(
        "dashboard_forged_session_cookie",
        "/dashboard/api/data",
        method="GET",
        headers={"Cookie": "mp_dashboard=ImRhc2hib2FyZCI.forged.sig"},
        expect=(401,),
        dead_letter=False,
    ),
]


def seed_victim(url: str) -> str:
    """A TikTok Shop cart (through the TikTok path) and an unsubscribe token; returns the token."""
    from marketing_pipeline.cart_recovery import links
    from marketing_pipeline.cart_recovery.carts import record_events
    from marketing_pipeline.cart_recovery.events import CartEvent

    at = datetime.fromisoformat(AT)
    victim = CartEvent(
        event_id="tts:n-victim:cart",
        type="cart_updated",
        cart_id=VICTIM_CART,
        occurred_at=at,
        email=VICTIM_EMAIL,
        items=[{**item(), "product_url": "https://shop.tiktok.com/view/product/1"}],
    )
    with psycopg.connect(url) as conn:
        record_events(conn, [victim], "tiktok_shop")
        return links.create_link(conn, "unsubscribe", VICTIM_CART, 1, VICTIM_EMAIL, None, at, None)


@dataclass
class Result:
    attack: str
    status: int
    server_error: bool
    accepted_wrongly: bool
    dead_letter_missing: bool


def run(attack: Attack, client: httpx.Client, conn: psycopg.Connection, unsubscribe_token: str) -> Result:
    if "TOKEN" in attack.path:
        attack = Attack(**{**attack.__dict__, "path": attack.path.replace("TOKEN", unsubscribe_token)})
    if "FORGED" in attack.path:
        attack = Attack(
            **{**attack.__dict__, "path": attack.path.replace("FORGED", secrets.token_urlsafe(24))}
        )
    before = conn.execute("SELECT count(*) FROM ops.dead_letters").fetchone()[0]
    response = attack.request(client)
    after = conn.execute("SELECT count(*) FROM ops.dead_letters").fetchone()[0]
    wrong = response.status_code not in attack.expect or (attack.holds is not None and not attack.holds(conn))
    return Result(
        attack.name,
        response.status_code,
        response.status_code >= 500,
        wrong,
        attack.dead_letter and after != before + 1,
    )


def run_concurrency(url: str, sendgrid_base: str) -> dict:
    """20 concurrent runs of one step, and three carts of one address processed together (7 times)."""
    from marketing_pipeline.cart_recovery.carts import record_events
    from marketing_pipeline.cart_recovery.events import CartEvent
    from marketing_pipeline.cart_recovery.send import process_step
    from marketing_pipeline.cart_recovery.senders import SendGridSender
    from marketing_pipeline.sandbox.credentials import SENDGRID_FROM_EMAIL
    from marketing_pipeline.sandbox.world import World
    from marketing_pipeline.settings.recovery import RecoveryPolicy
    from marketing_pipeline.sources.sendgrid.client import SendGridClient

    policy = RecoveryPolicy(
        brand_name=World.brand,
        brand_address=World.brand_address,
        store_url=World.store_url,
        from_email=SENDGRID_FROM_EMAIL,
    )
    t0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    now = t0 + timedelta(minutes=45)

    def cart(cart_id: str, email: str) -> None:
        evs = [
            CartEvent(
                event_id=f"{cart_id}:1", type="item_added", cart_id=cart_id, occurred_at=t0, item=item()
            ),
            CartEvent(
                event_id=f"{cart_id}:2",
                type="contact_identified",
                cart_id=cart_id,
                occurred_at=t0,
                email=email,
            ),
        ]
        with psycopg.connect(url) as conn:
            record_events(conn, evs, "website")

    def step(cart_id: str, run: str) -> str:
        with SendGridClient(f"{sendgrid_base}/sendgrid", "SG.sandbox-key") as client:
            return process_step(url, SendGridSender(client), policy, cart_id, 1, now, run).status

    out: dict = {}
    single = f"c-dup-{secrets.token_hex(4)}"
    cart(single, f"{single}@example.com")
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda i: step(single, f"run-{i}"), range(20)))
    out["duplicate_runs"] = {s: statuses.count(s) for s in sorted(set(statuses))}
    lost = 0
    for trial in range(7):
        email = f"three-{trial}-{secrets.token_hex(3)}@example.com"
        carts = [f"c-3-{trial}-{k}-{secrets.token_hex(3)}" for k in range(3)]
        for c in carts:
            cart(c, email)
        with ThreadPoolExecutor(3) as pool:
            statuses = list(pool.map(lambda c: step(c, f"run-{c}"), carts))
        lost += statuses.count("sent") != 1
    out["trials_without_exactly_one_email"] = lost
    sent = httpx.get(f"{sendgrid_base}/sendgrid/_sandbox/messages").json()
    per_step: dict[str, int] = {}
    for m in sent:
        args = m["body"]["personalizations"][0]["custom_args"]
        per_step[f"{args['cart_id']}:{args['step']}"] = (
            per_step.get(f"{args['cart_id']}:{args['step']}", 0) + 1
        )
    out["double_emails"] = sum(1 for n in per_step.values() if n > 1)
    out["emails"] = len(sent)
    return out


def main() -> int:
    from bench.scratch import scratch_database, server_url
    from marketing_pipeline.sandbox.app import build
    from marketing_pipeline.sandbox.server import BackgroundServer
    from marketing_pipeline.warehouse import migrate
    from marketing_pipeline.web.app import create_app

    server = server_url()
    with scratch_database(server) as url:
        migrate(url)
        os.environ.update({**ENV, "MARKETING_DATABASE_URL": url})
        token = seed_victim(url)
        box = build(seed=7)
        with BackgroundServer(box.app) as sandbox, BackgroundServer(create_app()) as web:
            with (
                httpx.Client(base_url=web.url, timeout=60) as client,
                psycopg.connect(url, autocommit=True) as conn,
            ):
                results = [run(a, client, conn, token) for a in ATTACKS]
                forged = [client.get(f"/r/{secrets.token_urlsafe(24)}").status_code for _ in range(2000)]
            concurrency = run_concurrency(url, sandbox.url)
    width = max(len(r.attack) for r in results)
    for r in results:
        flags = " ".join(
            f
            for f, on in (
                ("500", r.server_error),
                ("WRONG", r.accepted_wrongly),
                ("NO-DEAD-LETTER", r.dead_letter_missing),
            )
            if on
        )
        print(f"{r.attack:<{width}}  {r.status}  {flags or 'ok'}")
    print(
        f"\n{len(results)} attacks + 2,000 forged link tokens: "
        f"{sum(r.server_error for r in results) + sum(s >= 500 for s in forged)} x 5xx, "
        f"{sum(r.accepted_wrongly for r in results) + sum(s != 404 for s in forged)} accepted wrongly, "
        f"{sum(r.dead_letter_missing for r in results)} refused bodies without a dead letter"
    )
    print(
        f"20 concurrent runs of one step: {concurrency['duplicate_runs']}; "
        f"3 carts of one address together, 7 trials: {concurrency['trials_without_exactly_one_email']} without exactly one email; "
        f"double emails: {concurrency['double_emails']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
