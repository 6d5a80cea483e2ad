"""Predicted CLV reproduces Fader, Hardie & Lee (2005) on the CDNOW sample, through the project's path:
a website-orders CSV -> ``marketing-pipeline import-orders`` -> core.orders -> customer_predictions."""

import csv
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from marketing_pipeline import cli
from marketing_pipeline.marts.assets import build_segments
from marketing_pipeline.settings.brands import DEFAULT_ID

CDNOW = Path(__file__).parent / "data" / "CDNOW_sample.txt"
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
# Table 1 of "Counting Your Customers the Easy Way" (39-week calibration from 1997-01-01).
PAPER_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
# "RFM and CLV: Using Iso-Value Curves", the spend model on the same calibration period.
PAPER_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
AS_OF = {"as_of": "1998-06-30", "holdout_weeks": 39}  # calibration 1997-01-01 .. 1997-09-30


def cdnow_csv(path: Path) -> int:
    """One website order per CDNOW purchase record: customer, day (noon UTC), dollar value."""
    with CDNOW.open() as src, path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "order_id",
                "email",
                "created_at",
                "currency",
                "sku",
                "product_name",
                "quantity",
                "unit_price",
                "total",
            ]
        )
        rows = 0
        for n, line in enumerate(src):
            customer, _, day, cds, dollars = line.split()
            created = f"{day[:4]}-{day[4:6]}-{day[6:]}T12:00:00Z"
            email = f"cdnow-{customer}@example.com"
            writer.writerow([f"CD{n:05d}", email, created, "USD", "CD", f"{cds} CDs", 1, dollars, dollars])
            rows += 1
    return rows


def _materialize(defs, run_config: dict, instance) -> dg.ExecuteInProcessResult:
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=instance,
        asset_selection=[dg.AssetKey(k) for k in ("core_customers", "core_orders", "customer_predictions")],
        run_config={**QUIET, **run_config},
        partition_key=DEFAULT_ID,
    )


def _sig(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}"


@pytest.fixture
def cdnow_imported(conn, tmp_path, vendor_env_for):
    path = tmp_path / "cdnow.csv"
    assert cdnow_csv(path) == 6919
    assert cli.main(["import-orders", str(path)]) == 0
    vendor_env_for("http://127.0.0.1:9")
    from marketing_pipeline.definitions import defs

    return defs


def test_cdnow_reproduces_the_papers_through_import_and_assets(conn, cdnow_imported):
    """One test (each fit costs seconds): the papers' parameters, the holdout, the scores, then the
    segments from this good fit, and a poor fit of the same snapshot that the segments ignore."""
    config = {"ops": {"customer_predictions": {"config": AS_OF}}}
    with dg.instance_for_test() as instance:
        result = _materialize(cdnow_imported, config, instance)
        assert result.success
        checks = {
            e.event_specific_data.check_name: e.event_specific_data.passed
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
        }
        assert checks["customer_predictions_fit_ok"]
        _check_fit_and_scores(conn)
        _check_segments_then_a_poor_fit(conn, cdnow_imported, instance)


def _check_fit_and_scores(conn) -> None:
    fit = conn.execute(
        "SELECT calibration_end, holdout_customers, cal_r, cal_alpha, cal_a, cal_b, cal_p, cal_q, cal_v,"
        " holdout_mae, repeat_buyers, customers, fit_ok FROM marts.customer_prediction_fits"
        " WHERE as_of = '1998-06-30'"
    ).fetchone()
    cal_end, customers_cal, r, alpha, a, b, p, q, v, mae, repeat, customers, ok = fit
    assert str(cal_end) == "1997-09-30" and customers_cal == 2357 and customers == 2357 and ok
    got = {"r": r, "alpha": alpha, "a": a, "b": b}
    print("BG/NBD calibration fit", got, "paper", PAPER_BGNBD)
    print("Gamma-Gamma calibration fit", {"p": p, "q": q, "v": v}, "paper", PAPER_GAMMA_GAMMA)
    assert {k: _sig(x) for k, x in got.items()} == {k: _sig(x) for k, x in PAPER_BGNBD.items()}
    assert {k: round(x, 3) for k, x in got.items()} == PAPER_BGNBD  # the paper's printed precision
    assert {k: _sig(x) for k, x in {"p": p, "q": q, "v": v}.items()} == {
        "p": "6.25",
        "q": "3.74",
        "v": "15.4",
    }
    # Holdout: 1,411 customers made no repeat purchase in the calibration weeks (the papers' figure).
    holdout = dict(
        conn.execute(
            "SELECT calibration_repeat_purchases, customers FROM marts.customer_prediction_holdout"
            " WHERE as_of = '1998-06-30' ORDER BY 1"
        ).fetchall()
    )
    assert holdout[0] == 1411 and sum(holdout.values()) == 2357 and max(holdout) == 7
    assert 0 < mae < 1.5
    preds = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE frequency = 0 AND prob_alive = 1),"
        " bool_and(expected_purchases_30d <= expected_purchases_90d"
        "          AND expected_purchases_90d <= expected_purchases_365d),"
        " bool_and(prob_alive BETWEEN 0 AND 1), min(predicted_clv_12m), count(DISTINCT churn_risk)"
        " FROM marts.customer_predictions WHERE as_of = '1998-06-30'"
    ).fetchone()
    assert preds[0] == 2357 and preds[1] > 0 and preds[2] and preds[3] and preds[4] >= 0 and preds[5] >= 2
    _check_scores_against_the_file(conn)


def _check_scores_against_the_file(conn) -> None:
    """Every customer's scores in the warehouse equal the models' formulas on inputs computed straight
    from the CDNOW file (pandas, not the project's SQL) with the fitted parameters: the summary SQL,
    the grouping of identical customers and the join back lose nothing."""
    import numpy as np

    from marketing_pipeline.marts import clv
    from marketing_pipeline_tests import cdnow

    fit = conn.execute(
        "SELECT r, alpha, a, b, p, q, v FROM marts.customer_prediction_fits WHERE as_of = '1998-06-30'"
    ).fetchone()
    bg, (p, q, v) = clv.BetaGeo(*fit[:4]), fit[4:]
    data = cdnow.summary(date(1998, 6, 30))
    data.index = [f"cdnow-{c}@example.com" for c in data.index]
    rows = conn.execute(
        "SELECT c.email, p.frequency, p.prob_alive, p.expected_purchases_90d, p.expected_order_value,"
        " p.predicted_clv_12m, p.churn_probability FROM marts.customer_predictions p"
        " JOIN core.customers c USING (customer_id) WHERE p.as_of = '1998-06-30' ORDER BY c.email"
    ).fetchall()
    data = data.loc[[r[0] for r in rows]]
    x, t_x, t = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    got = np.array([r[1:] for r in rows], dtype=float)
    assert (got[:, 0] == x).all()
    np.testing.assert_allclose(got[:, 1], clv.prob_alive(bg, x, t_x, t), rtol=1e-9)
    np.testing.assert_allclose(got[:, 2], clv.expected_purchases(bg, x, t_x, t, [90 / 7])[0], rtol=1e-9)
    # Gamma-Gamma's conditional mean spend (pymc-marketing's expected_customer_spend), in cents.
    m = data["monetary_value"].to_numpy()
    weight = p * x / (p * x + q - 1)
    spend = (1 - weight) * v * p / (q - 1) + weight * m
    np.testing.assert_allclose(got[:, 3], spend, atol=0.005)
    monthly = 1.1 ** (1 / 12) - 1
    clv_12m = spend * clv.discounted_purchases(bg, x, t_x, t, months=12, monthly_rate=monthly)
    np.testing.assert_allclose(got[:, 4], clv_12m, atol=0.005)
    np.testing.assert_allclose(got[:, 5], clv.prob_no_purchase(bg, x, t_x, t, 52.0), rtol=1e-9)


def _segment_flags(conn, day: str) -> tuple[int, int, int]:
    with conn.transaction():
        build_segments(conn, date.fromisoformat(day), date.fromisoformat(day))
    return conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE likely_to_churn), count(*) FILTER (WHERE high_predicted_value)"
        " FROM marts.customer_segments WHERE as_of = %s",
        (day,),
    ).fetchone()


def _check_segments_then_a_poor_fit(conn, defs, instance) -> None:
    people, churn, high = _segment_flags(conn, "1998-07-15")
    expected_churn = conn.execute(
        "SELECT count(*) FROM marts.customer_predictions WHERE as_of = '1998-06-30' AND churn_risk = 'high'"
    ).fetchone()[0]
    assert people == 2357 and churn == expected_churn > 0
    assert abs(high - 0.1 * people) <= 5  # the top tenth of predicted 12-month CLV
    # The same snapshot refitted with a repeat-buyer floor it cannot meet: flagged, and not used.
    poor = {"ops": {"customer_predictions": {"config": {**AS_OF, "min_repeat_buyers": 100_000}}}}
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance,
        asset_selection=[dg.AssetKey("customer_predictions")],
        run_config={**QUIET, **poor},
        raise_on_error=False,
        partition_key=DEFAULT_ID,
    )
    checks = [
        e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert [c.passed for c in checks] == [False]
    ok, problems = conn.execute(
        "SELECT fit_ok, problems FROM marts.customer_prediction_fits WHERE as_of = '1998-06-30'"
    ).fetchone()
    assert not ok and "fewer than 100000" in problems
    assert _segment_flags(conn, "1998-07-15") == (2357, 0, 0)


def test_the_default_snapshot_is_the_last_brand_local_month_end(monkeypatch):
    from datetime import UTC, datetime

    from marketing_pipeline import clock
    from marketing_pipeline.marts import predictions_assets

    monkeypatch.setenv("BRAND_TIMEZONE", "America/New_York")
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 3, 1, 3, 0, tzinfo=UTC))  # Feb 28 in New York
    assert predictions_assets._as_of(predictions_assets.PredictionsConfig()) == date(2026, 1, 31)
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 3, 1, 6, 0, tzinfo=UTC))
    assert predictions_assets._as_of(predictions_assets.PredictionsConfig()) == date(2026, 2, 28)
    config = predictions_assets.PredictionsConfig(as_of="1998-06-30")
    assert predictions_assets._as_of(config) == date(1998, 6, 30)
