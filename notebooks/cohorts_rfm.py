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
        "# Cohorts and RFM movement\nRetention of monthly acquisition cohorts (`marts.cohorts`) and how customers moved between RFM segments from one monthly snapshot to the next (`marts.rfm`)."
    )
    return


@app.cell
def _(query):
    cohorts = query(
        "SELECT cohort_month, months_since, cohort_size, active_customers, retention, cumulative_revenue_per_customer"
        " FROM marts.cohorts ORDER BY cohort_month, months_since"
    )
    return (cohorts,)


@app.cell
def _(cohorts, pl):
    retention = (
        cohorts.pivot(on="months_since", index="cohort_month", values="retention").sort("cohort_month")
        if cohorts.height
        else pl.DataFrame()
    )
    return (retention,)


@app.cell
def _(query):
    movement = query(
        "WITH s AS (SELECT as_of, dense_rank() OVER (ORDER BY as_of DESC) AS k FROM (SELECT DISTINCT as_of FROM marts.rfm) d)"
        " SELECT coalesce(p.segment, '(new)') AS from_segment, c.segment AS to_segment, count(*) AS customers"
        " FROM marts.rfm c JOIN s sc ON sc.as_of = c.as_of AND sc.k = 1"
        " LEFT JOIN s sp ON sp.k = 2 LEFT JOIN marts.rfm p ON p.as_of = sp.as_of AND p.customer_id = c.customer_id"
        " GROUP BY 1, 2 ORDER BY customers DESC"
    )
    return (movement,)


@app.cell
def _(mo, movement, retention):
    mo.vstack(
        [
            mo.md("## Retention by months since first order"),
            mo.ui.table(retention),
            mo.md("## RFM movement, previous snapshot to latest"),
            mo.ui.table(movement),
        ]
    )
    return


if __name__ == "__main__":
    app.run()
