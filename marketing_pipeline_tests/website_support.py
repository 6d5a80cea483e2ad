"""Shared pieces of the website order tests (no tests here): what the raw tables hold, and CSV
exports written row by row."""

import csv

from marketing_pipeline.sources.website.staging import FIELDS


def snapshot(conn):
    return (
        conn.execute(
            "SELECT order_id, email, created_at, currency, subtotal, discount, shipping, tax, total,"
            " discount_code, utm_source, utm_campaign, accepts_marketing, line_count, payload,"
            " partition_date, source, source_line FROM raw.website_orders ORDER BY order_id"
        ).fetchall(),
        conn.execute(
            "SELECT order_id, line_number, sku, product_id, product_name, quantity, unit_price, discount,"
            " partition_date FROM raw.website_order_lines ORDER BY 1, 2"
        ).fetchall(),
        conn.execute(
            "SELECT email, consented, source, recorded_at FROM ops.consent ORDER BY 1, 4"
        ).fetchall(),
    )


def write_orders_csv(path, rows):
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(FIELDS)
        out.writerows(rows)


def csv_row(order_id="W1", **changes):
    base = dict(
        zip(
            FIELDS,
            [
                order_id,
                "a@example.com",
                "2025-03-01T14:05:00+01:00",
                "USD",
                "SKU1",
                "P1",
                "Glow, Serum",
                "30 ml",
                "1",
                "34.00",
                "0.00",
                "",
                "34.00",
                "0.00",
                "5.95",
                "2.80",
                "42.75",
                "",
                "google",
                "cpc",
                "spring",
                "",
                "",
                "true",
            ],
            strict=True,
        )
    )
    base.update(changes)
    return [base[f] for f in FIELDS]
