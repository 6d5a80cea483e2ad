"""Klaviyo activation throughput against the sandbox: N TikTok orders from N/2 buyers, then each sync.

Usage: MARKETING_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
       .venv/bin/python -m bench.klaviyo_activation 2000
Prints seconds, items sent and API calls per sync (a fresh database is created and dropped).
"""

import os
import sys
import time
import uuid

import psycopg

from marketing_pipeline.activation.klaviyo.assets import (
    klaviyo_list_sync,
    klaviyo_order_event_sync,
    klaviyo_profile_sync,
)
from marketing_pipeline.sandbox.app import build
from marketing_pipeline.sandbox.server import BackgroundServer
from marketing_pipeline.warehouse import migrate
from marketing_pipeline_tests.klaviyo_activation_support import materialize

ORDERS_SQL = """
INSERT INTO raw.tiktok_shop_orders (order_id, status, buyer_user_id, buyer_email, currency, sub_total, shipping_fee,
    seller_discount, platform_discount, tax, total_amount, line_count, created_at, updated_at, paid_at, payload,
    partition_date)
SELECT 'B' || i, 'COMPLETED', '7' || (i %% %(buyers)s), 'buyer' || (i %% %(buyers)s) || '@example.com', 'USD', 50, 0, 0,
       0, 0, 20 + (i %% 400), 1, now() - (i %% 200) * interval '1 day', now(), now() - (i %% 200) * interval '1 day',
       jsonb_build_object('recipient_address', jsonb_build_object('first_name', 'Ava', 'last_name', 'Lee')),
       current_date
FROM generate_series(1, %(orders)s) i
"""


def main(orders: int) -> None:
    server_url = os.environ.get(
        "MARKETING_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"mp_bench_activation_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    url = psycopg.conninfo.make_conninfo(**{**info, "dbname": name})
    os.environ["MARKETING_DATABASE_URL"] = url
    try:
        migrate(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(ORDERS_SQL, {"buyers": max(1, orders // 2), "orders": orders})
        box = build(seed=7)
        with BackgroundServer(box.app) as server:
            for asset in (klaviyo_profile_sync, klaviyo_order_event_sync, klaviyo_list_sync):
                started = time.monotonic()
                result = materialize(server.url, [asset])
                seconds = time.monotonic() - started
                md = result.asset_materializations_for_node(asset.key.path[-1])[0].metadata
                print(
                    f"{asset.key.path[-1]:<26} {seconds:6.1f}s  sent {md['sent'].value:>7,}  "
                    f"api calls {md['api_calls'].value:>6,}  retries {md['retries'].value}"
                )
    finally:
        with psycopg.connect(server_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
