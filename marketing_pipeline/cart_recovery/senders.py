"""Who sends a recovery step, by ``CART_RECOVERY_SENDER``: SendGrid (our rendered email) or a
Customer.io transactional template (``message_data`` carries the cart). Both raise
``SendOutcomeUnknown`` when the mail may have gone, and ``VendorError`` when it certainly did not.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from marketing_pipeline.cart_recovery.emails import Email, mail_send_body, money
from marketing_pipeline.settings.recovery import RecoveryPolicy, Step


class Sender(Protocol):
    name: str

    def send(self, email: Email, data: dict, policy: RecoveryPolicy, cart_id: str, step: Step) -> str | None:
        """Send one step; returns the platform's message id."""


class SendGridSender:
    name = "sendgrid"

    def __init__(self, client):
        self.client = client

    def send(self, email: Email, data: dict, policy: RecoveryPolicy, cart_id: str, step: Step) -> str | None:
        return self.client.send_mail(mail_send_body(email, policy, cart_id, step))


class CustomerIoSender:
    name = "customerio"

    def __init__(self, client):
        self.client = client

    def send(self, email: Email, data: dict, policy: RecoveryPolicy, cart_id: str, step: Step) -> str | None:
        response = self.client.send_email(
            policy.customerio_message_id(step.number),
            to=email.to,
            message_data=data,  # the template links ``unsubscribe_url`` (our suppression link)
        )
        return response.get("delivery_id")


def message_data(
    policy: RecoveryPolicy,
    step: Step,
    cart: dict,
    items: list[dict],
    recover_url: str,
    unsubscribe_url: str,
    code: str | None,
) -> dict:
    """The cart as a transactional template reads it (``{{ trigger.items }}`` and so on)."""
    currency = cart["currency"]
    return {
        "cart_id": cart["cart_id"],
        "step": step.number,
        "step_name": step.name,
        "brand_name": policy.brand_name,
        "brand_address": policy.brand_address,
        "currency": currency,
        "subtotal": str(cart["subtotal"]),
        "subtotal_display": money(Decimal(cart["subtotal"]), currency),
        "item_count": cart["item_count"],
        "items": [
            {
                "sku": i["sku_id"],
                "name": i["name"],
                "variant": i.get("variant"),
                "quantity": i["quantity"],
                "unit_price": str(i["unit_price"]),
                "image_url": i.get("image_url"),
            }
            for i in items
        ],
        "recover_url": recover_url,
        "unsubscribe_url": unsubscribe_url,
        "discount_code": code,
        "discount_percent": str(step.discount_percent) if code else None,
    }
