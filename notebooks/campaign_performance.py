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
        "# Campaign and flow performance\nEmail results per platform and day (`marts.email_daily`), and revenue per campaign and flow under first and last touch (`marts.campaign_revenue`)."
    )
    return


@app.cell
def _(query):
    email_daily = query(
        "SELECT platform, min(day) AS first_day, max(day) AS last_day, sum(sent) AS sent, sum(delivered) AS delivered,"
        " sum(opens) AS opens, sum(clicks) AS clicks, round(sum(clicks)::numeric / nullif(sum(delivered), 0), 4) AS click_rate,"
        " sum(conversions) AS conversions, sum(revenue) AS revenue FROM marts.email_daily GROUP BY platform ORDER BY platform"
    )
    return (email_daily,)


@app.cell
def _(query):
    campaigns = query(
        "SELECT model, platform, coalesce(campaign, flow) AS name, CASE WHEN flow IS NOT NULL THEN 'flow' ELSE 'campaign' END AS kind,"
        " sum(orders) AS orders, sum(revenue) AS revenue FROM marts.campaign_revenue"
        " WHERE platform IS NOT NULL AND coalesce(campaign, flow) IS NOT NULL"
        " GROUP BY 1, 2, 3, 4 ORDER BY model, revenue DESC"
    )
    return (campaigns,)


@app.cell
def _(campaigns, email_daily, mo):
    mo.vstack(
        [
            mo.md("## Per platform"),
            mo.ui.table(email_daily),
            mo.md("## Campaigns and flows by attributed revenue"),
            mo.ui.table(campaigns),
        ]
    )
    return


if __name__ == "__main__":
    app.run()
