import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo
    import polars as pl

    from marketing_pipeline.warehouse.frames import query_frame as query

    return mo, pl, query


@app.cell
def _(mo):
    mo.md(
        "# Customer.io webhook stream\nReporting events as they arrived (`raw.customerio_webhook_events`) and refused calls (`ops.customerio_webhook_counters`)."
    )
    return


@app.cell
def _(query):
    by_metric = query(
        "SELECT object_type, metric, count(*) AS events, count(DISTINCT delivery_id) AS deliveries,"
        " min(occurred_at) AS first, max(occurred_at) AS last"
        " FROM raw.customerio_webhook_events GROUP BY 1, 2 ORDER BY events DESC"
    )
    hourly = query(
        "SELECT date_trunc('hour', occurred_at) AS hour, metric, count(*) AS events"
        " FROM raw.customerio_webhook_events GROUP BY 1, 2 ORDER BY 1, 2"
    )
    refused = query("SELECT * FROM ops.customerio_webhook_counters ORDER BY 1 DESC")
    return (
        by_metric,
        hourly,
        refused,
    )


@app.cell
def _(by_metric, hourly, mo, refused):
    mo.vstack(
        [
            mo.md("## Events per metric"),
            mo.ui.table(by_metric),
            mo.md("## Per hour"),
            mo.ui.table(hourly),
            mo.md("## Refused calls"),
            mo.ui.table(refused),
        ]
    )
    return


if __name__ == "__main__":
    app.run()
