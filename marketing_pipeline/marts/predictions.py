"""Fit BG/NBD + Gamma-Gamma on core.orders as of a day and write marts.customer_predictions.

Two fits per run: one on the calibration period (as_of minus ``holdout_weeks``) whose predictions
are compared with what customers did in the holdout weeks (the papers' validation), and one on
everything up to as_of that scores every customer. Both land in marts.customer_prediction_fits,
the holdout comparison in marts.customer_prediction_holdout; one transaction replaces the as_of.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import psycopg

from marketing_pipeline.marts import clv, sqlfiles


@dataclass(frozen=True)
class Options:
    holdout_weeks: int = 26
    annual_discount_rate: float = 0.10
    min_repeat_buyers: int = 100  # fewer customers with a repeat purchase: the fit is not trusted
    churn_high: float = 0.8  # churn_probability at or above: high risk
    churn_medium: float = 0.5  # at or above (and below churn_high): medium


@dataclass
class Outcome:
    as_of: date
    customers: int = 0
    repeat_buyers: int = 0
    params: dict[str, float] = field(default_factory=dict)
    calibration: dict[str, float] = field(default_factory=dict)
    holdout: pd.DataFrame | None = None
    holdout_mae: float | None = None
    converged: bool = False
    problems: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def fit_ok(self) -> bool:
        return not self.problems


def summary(conn: psycopg.Connection, end: date, as_of: date) -> pd.DataFrame:
    """Every customer's inputs at as_of, and the calibration inputs at ``end`` (cal_*, NaN when the
    customer first bought after it) with the holdout purchases that followed (one pass over the orders)."""
    cur = conn.execute(sqlfiles.path("customer_prediction_summary").read_text(), {"end": end, "as_of": as_of})
    cols = [c.name for c in cur.description]
    frame = pd.DataFrame(cur.fetchall(), columns=cols).set_index("customer_id")
    return frame.astype(float)


def calibration(frame: pd.DataFrame) -> pd.DataFrame:
    cal = frame[frame["cal_T"].notna()]
    inputs = ("frequency", "recency", "T", "monetary_value")
    return (
        cal[[f"cal_{c}" for c in inputs]]
        .set_axis(inputs, axis=1)
        .assign(holdout_purchases=cal["holdout_purchases"])
    )


def _validate(cal: pd.DataFrame, end: date, opts: Options, out: Outcome) -> None:
    if (cal["frequency"] > 0).sum() < 2:
        out.problems.append(f"holdout: too few repeat buyers before {end} to validate")
        return
    fit = clv.fit(cal)
    predicted = clv.expected_purchases(fit, cal, opts.holdout_weeks)
    actual = cal["holdout_purchases"].to_numpy()
    out.calibration = fit.params | {"calibration_end": end, "customers": len(cal)}
    out.holdout = clv.holdout_table(cal["frequency"].to_numpy(), actual, predicted)
    out.holdout_mae = float(np.mean(np.abs(predicted - actual)))


def run(conn: psycopg.Connection, as_of: date, opts: Options) -> tuple[Outcome, pd.DataFrame | None]:
    """Fit, validate and score; returns the outcome and the per-customer scores (None when unfit)."""
    out = Outcome(as_of=as_of)
    started = time.monotonic()
    sqlfiles.apply_settings(conn, {})  # work_mem and no JIT, as for the other marts
    end = as_of - timedelta(weeks=opts.holdout_weeks)
    data = summary(conn, end, as_of)
    out.customers, out.repeat_buyers = len(data), int((data["frequency"] > 0).sum())
    out.seconds["summary"] = time.monotonic() - started
    if out.repeat_buyers < max(opts.min_repeat_buyers, 2):
        out.problems.append(f"{out.repeat_buyers} repeat buyers, fewer than {opts.min_repeat_buyers}")
        if out.repeat_buyers < 2:
            return out, None
    started = time.monotonic()
    _validate(calibration(data), end, opts, out)
    out.seconds["holdout"] = time.monotonic() - started
    started = time.monotonic()
    fit = clv.fit(data)
    out.params, out.converged = fit.params, fit.converged
    if not fit.converged:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in fit.params.items())
        out.problems.append(f"the fit did not converge to usable parameters ({shown})")
    out.seconds["fit"] = time.monotonic() - started
    started = time.monotonic()
    scores = clv.score(fit, data, annual_discount_rate=opts.annual_discount_rate)
    out.seconds["score"] = time.monotonic() - started
    return out, data.join(scores)


SCORE_COLUMNS = (
    "frequency", "recency", "T", "prob_alive", "expected_purchases_30d", "expected_purchases_90d",
    "expected_purchases_365d", "expected_order_value", "predicted_clv_12m", "next_order_weeks",
    "churn_probability",
)  # fmt: skip


def write(conn: psycopg.Connection, out: Outcome, scored: pd.DataFrame | None, opts: Options) -> int:
    """Replace as_of's fit, holdout and predictions (the caller's transaction makes it atomic)."""
    conn.execute("DELETE FROM marts.customer_prediction_fits WHERE as_of = %s", (out.as_of,))
    conn.execute("DELETE FROM marts.customer_predictions WHERE as_of = %s", (out.as_of,))
    p, c = out.params, out.calibration
    conn.execute(
        """INSERT INTO marts.customer_prediction_fits (as_of, customers, repeat_buyers, r, alpha, a, b, p, q, v,
               annual_discount_rate, calibration_end, holdout_weeks, holdout_customers,
               cal_r, cal_alpha, cal_a, cal_b, cal_p, cal_q, cal_v, holdout_mae, converged, fit_ok, problems)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                   %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            out.as_of,
            out.customers,
            out.repeat_buyers,
            *(p.get(k) for k in (*clv.BG_PARAMS, *clv.GG_PARAMS)),
            opts.annual_discount_rate,
            c.get("calibration_end"),
            opts.holdout_weeks,
            c.get("customers"),
            *(c.get(k) for k in (*clv.BG_PARAMS, *clv.GG_PARAMS)),
            out.holdout_mae,
            out.converged,
            out.fit_ok,
            "; ".join(out.problems) or None,
        ),  # fmt: skip
    )
    if out.holdout is not None:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO marts.customer_prediction_holdout VALUES (%s, %s, %s, %s, %s)",
                [
                    (
                        out.as_of,
                        int(r.bucket),
                        int(r.customers),
                        float(r.actual_mean),
                        float(r.predicted_mean),
                    )
                    for r in out.holdout.itertuples()
                ],
            )
    if scored is None:
        return 0
    conn.execute(
        "CREATE TEMP TABLE stg_predictions (customer_id text, frequency double precision,"
        " recency double precision, t double precision, prob_alive double precision,"
        " e30 double precision, e90 double precision, e365 double precision, order_value double precision,"
        " clv double precision, next_weeks double precision, churn double precision) ON COMMIT DROP"
    )
    with conn.cursor().copy("COPY stg_predictions FROM STDIN (FORMAT csv)") as copy:
        copy.write(scored[list(SCORE_COLUMNS)].to_csv(header=False, float_format="%.9g"))
    conn.execute(
        sqlfiles.path("customer_predictions").read_text(),
        {"as_of": out.as_of, "high": opts.churn_high, "medium": opts.churn_medium},
    )
    return len(scored)
