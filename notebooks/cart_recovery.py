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
        "# Cart recovery\nAbandoned carts, emails per step, clicks and recovered revenue (`marts.cart_recovery_daily`), and the outbox as it stands (`ops.recovery_outbox`)."
    )
    return


@app.cell
def _(query):
    by_step = query(
        "SELECT step, sum(carts_abandoned) AS carts, sum(emails_sent) AS emails_sent, sum(carts_clicked) AS clicked,"
        " sum(recovered_carts) AS recovered, sum(recovered_revenue) AS revenue,"
        " round(sum(recovered_carts)::numeric / nullif(sum(CASE WHEN step = 0 THEN carts_abandoned ELSE emails_sent END), 0), 4) AS rate"
        " FROM marts.cart_recovery_daily GROUP BY step ORDER BY step"
    )
    return (by_step,)


@app.cell
def _(query):
    outbox = query(
        "SELECT step, status, count(*) AS steps, min(claimed_at) AS first, max(claimed_at) AS last"
        " FROM ops.recovery_outbox GROUP BY 1, 2 ORDER BY 1, 2"
    )
    open_carts = query(
        "SELECT channel, count(*) AS carts, count(email) AS with_email, count(converted_at) AS converted,"
        " count(recovery_ended_at) AS sequence_ended FROM ops.carts GROUP BY channel ORDER BY channel"
    )
    return (
        open_carts,
        outbox,
    )


@app.cell
def _(by_step, mo, open_carts, outbox):
    mo.vstack(
        [
            mo.md("## Results per step (0 = the whole sequence)"),
            mo.ui.table(by_step),
            mo.md("## Carts"),
            mo.ui.table(open_carts),
            mo.md("## Outbox"),
            mo.ui.table(outbox),
        ]
    )
    return


if __name__ == "__main__":
    app.run()
