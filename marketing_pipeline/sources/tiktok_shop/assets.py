"""``tiktok_shop_orders``: one brand-local day of orders (by create time) into raw tables, atomically."""

import json
from collections.abc import Iterator
from datetime import date

import dagster as dg

from marketing_pipeline.ingest import (
    ingest_asset_args,
    ingest_errors,
    ingest_metadata,
    ingest_scope,
)
from marketing_pipeline.partitions import day_bounds
from marketing_pipeline.sources.tiktok_shop.models import Order
from marketing_pipeline.sources.tiktok_shop.resource import TikTokShopResource
from marketing_pipeline.warehouse import WarehouseResource, copy_rows, delete_partitions

ORDERS_TABLE = "raw.tiktok_shop_orders"
LINES_TABLE = "raw.tiktok_shop_order_lines"
ORDER_COLUMNS = (
    "order_id",
    "status",
    "buyer_user_id",
    "buyer_email",
    "currency",
    "sub_total",
    "shipping_fee",
    "seller_discount",
    "platform_discount",
    "tax",
    "total_amount",
    "line_count",
    "created_at",
    "updated_at",
    "paid_at",
    "payload",
    "partition_date",
    "_run_id",
)
LINE_COLUMNS = (
    "order_id",
    "line_item_id",
    "sku_id",
    "product_id",
    "product_name",
    "sku_name",
    "seller_sku",
    "sku_image",
    "sale_price",
    "original_price",
    "seller_discount",
    "platform_discount",
    "currency",
    "display_status",
    "payload",
    "partition_date",
    "_run_id",
)


def order_row(order: Order, day: date, run_id: str) -> tuple:
    p = order.payment
    return (
        order.id,
        order.status,
        order.user_id,
        order.buyer_email,
        p.currency,
        p.sub_total,
        p.shipping_fee,
        p.seller_discount,
        p.platform_discount,
        p.tax,
        p.total_amount,
        len(order.line_items),
        order.created_at,
        order.updated_at,
        order.paid_at,
        json.dumps(order.raw),
        day,
        run_id,
    )


def line_rows(order: Order, day: date, run_id: str) -> Iterator[tuple]:
    raw_lines = order.raw.get("line_items") or []
    for item, raw in zip(order.line_items, raw_lines, strict=True):
        yield (
            order.id,
            item.id,
            item.sku_id,
            item.product_id,
            item.product_name,
            item.sku_name,
            item.seller_sku,
            item.sku_image,
            item.sale_price,
            item.original_price,
            item.seller_discount,
            item.platform_discount,
            item.currency,
            item.display_status,
            json.dumps(raw),
            day,
            run_id,
        )


@dg.asset(
    **ingest_asset_args("tiktok_shop", "tiktok_shop"),
    description="TikTok Shop orders created on the partition's brand-local day, with their line items "
    "(raw.tiktok_shop_orders, raw.tiktok_shop_order_lines). Re-reading a day replaces it.",
)
def tiktok_shop_orders(
    context: dg.AssetExecutionContext, tiktok_shop: TikTokShopResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    brand, days, warehouse, tiktok_shop = ingest_scope(context, warehouse, tiktok_shop, "tiktok_shop")
    tz = brand.tz
    orders = lines = 0
    with (
        ingest_errors("tiktok_shop.orders", context.run.run_id, warehouse.url()),
        tiktok_shop.client() as client,
    ):
        with warehouse.transaction() as conn:
            delete_partitions(conn, ORDERS_TABLE, days)
            delete_partitions(conn, LINES_TABLE, days)
            for day in days:
                for page in client.search_orders(*day_bounds(day, tz)):
                    orders += copy_rows(
                        conn,
                        ORDERS_TABLE,
                        ORDER_COLUMNS,
                        (order_row(o, day, context.run.run_id) for o in page),
                    )
                    lines += copy_rows(
                        conn,
                        LINES_TABLE,
                        LINE_COLUMNS,
                        (r for o in page for r in line_rows(o, day, context.run.run_id)),
                    )
        stats = client.stats
    context.log.info(f"{brand.id}: loaded {orders} orders, {lines} lines for {days[0]}..{days[-1]}")
    return dg.MaterializeResult(
        metadata=ingest_metadata(stats, rows=orders, order_lines=lines, days=len(days))
    )
