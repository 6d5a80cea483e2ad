"""Render a recovery email (HTML and plain text) and shape it as a SendGrid v3 mail send body."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import jinja2

from marketing_pipeline.settings.recovery import RecoveryPolicy, Step

TEMPLATES = Path(__file__).parent / "templates"
SUBJECTS = {
    "reminder": "You left something in your cart",
    "urgency": "Your cart is about to expire",
    "offer": "{percent}% off the cart you left behind",
    "offer_without_code": "Your cart is still saved for you",  # the pool was empty: no discount promised
}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "html.j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    html: str
    text: str
    unsubscribe_url: str


def money(value: Decimal, currency: str) -> str:
    return f"${value:,.2f}" if currency == "USD" else f"{value:,.2f} {currency}"


def render(
    policy: RecoveryPolicy,
    step: Step,
    cart: dict,
    items: list[dict],
    recover_url: str,
    unsubscribe_url: str,
    discount_code: str | None,
) -> Email:
    currency = cart["currency"]
    subtotal = sum((i["unit_price"] * i["quantity"] for i in items), Decimal(0))
    percent = step.discount_percent
    discount = (subtotal * percent / 100).quantize(Decimal("0.01")) if discount_code else Decimal(0)
    context = {
        "step": step.name,
        "brand": policy.brand_name,
        "brand_address": policy.brand_address,
        "items": [
            {
                **i,
                "price": money(i["unit_price"], currency),
                "line_total": money(i["unit_price"] * i["quantity"], currency),
            }
            for i in items
        ],
        "subtotal": money(subtotal, currency),
        "discount": money(discount, currency),
        "total": money(subtotal - discount, currency),
        "discount_code": discount_code,
        "percent": f"{percent:g}",
        "recover_url": recover_url,
        "unsubscribe_url": unsubscribe_url,
        "link_days": policy.link_ttl.days,
    }
    env = environment()
    return Email(
        to=cart["email"],
        subject=SUBJECTS[
            "offer_without_code" if step.discount_percent and not discount_code else step.name
        ].format(percent=f"{percent:g}"),
        html=env.get_template("recovery.html.j2").render(context),
        text=env.get_template("recovery.txt.j2").render(context),
        unsubscribe_url=unsubscribe_url,
    )


def mail_send_body(email: Email, policy: RecoveryPolicy, cart_id: str, step: Step) -> dict:
    return {
        # custom_args per personalization: the spec types the top-level field as a string
        "personalizations": [
            {
                "to": [{"email": email.to}],
                "custom_args": {"cart_id": cart_id, "step": str(step.number), "step_name": step.name},
            }
        ],
        "from": {"email": policy.from_email, "name": policy.brand_name},
        "subject": email.subject,
        "content": [{"type": "text/plain", "value": email.text}, {"type": "text/html", "value": email.html}],
        "categories": ["cart_recovery", f"cart_recovery_{step.name}"],
        "headers": {
            "List-Unsubscribe": f"<{email.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "tracking_settings": {"click_tracking": {"enable": False}},  # our own links record the clicks
    }
