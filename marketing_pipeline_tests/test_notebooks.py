"""The analysts' marimo notebooks run headless against a small warehouse, so they never rot.

Each one runs as its users run it (``python notebooks/<name>.py``, which executes every cell and
fails on the first error) and in process (``app.run()``), where the frames it built are checked.
"""

import importlib.util
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from marketing_pipeline.cart_recovery import reporting
from marketing_pipeline.cart_recovery.carts import record_events
from marketing_pipeline.cart_recovery.events import CartEvent
from marketing_pipeline.settings.recovery import RecoveryPolicy
from marketing_pipeline_tests.marts_fixtures import at, build, cio_click, tiktok_order, website_order

pytest.importorskip("marimo", reason="marimo is a dev dependency (pip install -e '.[dev]')")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
D = date(2025, 1, 6)


@pytest.fixture
def warehouse(conn, warehouse_url):
    for k in range(6):
        website_order(conn, f"W{k}", email=f"buyer{k % 3}@example.com", created=at(D + timedelta(days=7 * k)))
        tiktok_order(
            conn,
            f"T{k}",
            user=f"u{k}",
            email=f"tt{k % 2}@example.com",
            phone=None,
            created=at(D + timedelta(days=10 * k)),
            total="35.00",
        )
    cio_click(conn, "d-1", email="buyer0@example.com", clicked=at(D) - timedelta(hours=3))
    for n, metric in enumerate(["sent", "delivered", "opened", "clicked"]):
        conn.execute(
            "INSERT INTO raw.customerio_webhook_events (event_id, object_type, metric, occurred_at, delivery_id,"
            " email, payload) VALUES (%s, 'email', %s, %s, 'd-1', 'buyer0@example.com', %s)",
            (f"wh-{n}", metric, at(D) + timedelta(minutes=n), json.dumps({"metric": metric})),
        )
    build(conn, D, D + timedelta(days=60))
    t = datetime(2025, 3, 1, 12, tzinfo=UTC)
    item = {"sku_id": "S1", "name": "Glow Serum", "unit_price": "34.00", "quantity": 1}
    record_events(
        conn,
        [
            CartEvent(event_id="cart-n1:add", type="item_added", cart_id="n1", occurred_at=t, item=item),
            CartEvent(
                event_id="cart-n1:who",
                type="contact_identified",
                cart_id="n1",
                occurred_at=t,
                email="c@example.com",
            ),
        ],
        "website",
    )
    conn.execute(
        "INSERT INTO ops.recovery_outbox (cart_id, step, email, status, requested_at, claimed_at, sent_at)"
        " VALUES ('n1', 1, 'c@example.com', 'sent', %s, %s, %s)",
        (t + timedelta(minutes=31),) * 3,
    )
    conn.execute("UPDATE ops.carts SET abandoned_at = %s, recovery_step = 1 WHERE cart_id = 'n1'", (t,))
    with conn.transaction():
        reporting.refresh(conn, RecoveryPolicy(), t + timedelta(days=3))
    return warehouse_url


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"notebook_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_there_are_notebooks():
    assert {p.stem for p in NOTEBOOKS} >= {
        "campaign_performance",
        "cohorts_rfm",
        "cart_recovery",
        "customerio_webhooks",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_runs_as_a_script(warehouse, path):
    env = {**os.environ, "MARKETING_DATABASE_URL": warehouse, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, str(path)], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_notebooks_find_the_data(warehouse):
    defs = {p.stem: load(p).run()[1] for p in NOTEBOOKS}
    campaign = defs["campaign_performance"]
    assert campaign["email_daily"].height >= 1 and set(campaign["email_daily"]["platform"]) == {"customerio"}
    cohorts = defs["cohorts_rfm"]
    assert (
        cohorts["cohorts"].height > 0 and cohorts["retention"].height > 0 and cohorts["movement"].height > 0
    )
    recovery = defs["cart_recovery"]
    assert recovery["open_carts"].row(0, named=True)["with_email"] == 1
    assert recovery["outbox"].row(0, named=True)["status"] == "sent"
    hooks = defs["customerio_webhooks"]
    assert sorted(hooks["by_metric"]["metric"]) == ["clicked", "delivered", "opened", "sent"]
