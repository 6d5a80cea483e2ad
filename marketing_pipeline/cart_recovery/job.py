"""``cart_recovery_job``: send one recovery step of one cart (config ``brand``, ``cart_id``, ``step``).

The run works in its brand's warehouse and sends through that brand's SendGrid account (or
Customer.io workspace), with the brand's name, address, sender and store (``RecoveryPolicy.for_brand``);
the brand is in the run config (empty: the default brand) and in the run's ``brand`` tag.

The step's op takes a slot of the pool of the vendor that sends (``CART_RECOVERY_SENDER``):
``sendgrid_api`` or ``customerio_api``; in platform-flow mode nothing is sent here, so no pool.
"""

from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache

import dagster as dg

from marketing_pipeline.brand_resources import for_brand
from marketing_pipeline.cart_recovery.send import process_step
from marketing_pipeline.cart_recovery.senders import CustomerIoSender, SendGridSender
from marketing_pipeline.settings import SettingsError
from marketing_pipeline.settings import brands as brand_settings
from marketing_pipeline.settings.brands import Brand
from marketing_pipeline.settings.recovery import RecoveryPolicy, sender_from_env
from marketing_pipeline.sources.customerio.resource import CustomerIoResource
from marketing_pipeline.sources.sendgrid.resource import SendGridResource
from marketing_pipeline.warehouse import WarehouseResource

RECOVERY_OP = "send_recovery_step"
JOB_NAME = "cart_recovery_job"
BRAND_TAG = "brand"
POOLS = {"sendgrid": "sendgrid_api", "customerio": "customerio_api", "platform_flow": None}


class RecoveryStepConfig(dg.Config):
    brand: str = ""  # the brand's id; empty: the default brand
    cart_id: str
    step: int
    as_of: str = ""  # ISO time to act at; empty = now (a controllable clock for the demo and tests)


_OP_DESCRIPTION = (
    "Claim the step in ops.recovery_outbox, re-check the exit rules, render and send through "
    "the configured sender (CART_RECOVERY_SENDER: SendGrid or a Customer.io transactional message). A claimed step is never sent again, whatever happens to this run."
)


def send_recovery_step(
    context: dg.OpExecutionContext,
    config: RecoveryStepConfig,
    warehouse: WarehouseResource,
    sendgrid: SendGridResource,
    customerio: CustomerIoResource,
) -> dg.Output:
    now = datetime.fromisoformat(config.as_of) if config.as_of else datetime.now(UTC)
    if now.tzinfo is None:
        raise dg.Failure(f"as_of {config.as_of!r} needs a time zone offset", allow_retries=False)
    try:
        brand = _brand(config.brand)
    except SettingsError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    policy = RecoveryPolicy.for_brand(brand)
    if policy.missing_sender():
        raise dg.Failure(
            f"cart recovery is not configured: set {', '.join(policy.missing_sender())}",
            allow_retries=False,
        )
    if policy.sender == "platform_flow":
        raise dg.Failure(
            "CART_RECOVERY_SENDER=platform_flow: the platform's own flow sends; nothing is sent here",
            allow_retries=False,
        )
    vendor = policy.sender  # sendgrid | customerio
    if vendor not in brand.vendors:
        raise dg.Failure(
            f"brand {brand.id} does not use {vendor} (CART_RECOVERY_SENDER): its cart recovery cannot send",
            allow_retries=False,
        )
    warehouse = warehouse.for_brand(brand)
    if vendor == "sendgrid":
        sendgrid = for_brand(sendgrid, brand, "sendgrid")
    else:
        customerio = for_brand(customerio, brand, "customerio")
    with _sender(policy.sender, sendgrid, customerio) as sender:
        outcome = process_step(
            warehouse.url(),
            sender,
            policy,
            config.cart_id,
            config.step,
            now,
            context.run.run_id,
        )
    context.log.info(
        f"{brand.id}: cart {config.cart_id} step {config.step}: {outcome.status} {outcome.detail or ''}"
        + (f" (offer: {outcome.offer})" if outcome.offer else "")
    )
    # "duplicate": another run has this step in hand; nothing failed and nothing is sent twice
    if outcome.status in ("unknown", "failed", "already_unknown"):
        raise dg.Failure(
            f"cart {config.cart_id} step {config.step}: {outcome.status}: {outcome.detail}",
            metadata={"status": outcome.status},
            allow_retries=False,
        )
    metadata = {"status": outcome.status, "detail": outcome.detail or "", "brand": brand.id}
    if outcome.offer:  # the offer step says whether a code went out or the pool was empty
        metadata["offer"] = outcome.offer
    return dg.Output(outcome.status, metadata=metadata)


def _brand(brand_id: str) -> Brand:
    return brand_settings.load().get(brand_id)


@contextmanager
def _sender(mode: str, sendgrid: SendGridResource, customerio: CustomerIoResource):
    if mode == "customerio":
        with customerio.app_client() as client:
            yield CustomerIoSender(client)
    else:
        with sendgrid.client() as client:
            yield SendGridSender(client)


# A step takes seconds. A run killed outright (SIGKILL) would hold its pool slot forever:
# run monitoring fails it after this long, and then frees the slot (dagster.yaml).
MAX_RUNTIME_SECONDS = 300


@cache
def build_recovery_job(sender: str) -> dg.JobDefinition:
    """The job for one sender mode: the same op, in the pool of the vendor that sends."""
    op = dg.op(name=RECOVERY_OP, pool=POOLS[sender], description=_OP_DESCRIPTION)(send_recovery_step)

    @dg.job(
        name=JOB_NAME,
        tags={"cart_recovery": "true", "dagster/max_runtime_seconds": str(MAX_RUNTIME_SECONDS)},
        description="One abandoned-cart email step for one cart.",
    )
    def _job():
        op()

    return _job


def recovery_job_for_env() -> dg.JobDefinition:
    """The job for the configured ``CART_RECOVERY_SENDER`` (read when the definitions load)."""
    return build_recovery_job(sender_from_env())
