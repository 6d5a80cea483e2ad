"""Fit BG/NBD + Gamma-Gamma on core.orders as of a day and write marts.customer_predictions.

Two fits per run: one on the calibration period (as_of minus ``holdout_weeks``) whose predictions
are compared with what customers did in the holdout weeks (the papers' validation), and one on
everything up to as_of that scores every customer. Both land in marts.customer_prediction_fits,
the holdout comparison in marts.customer_prediction_holdout; one transaction replaces the as_of.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import psycopg

from marketing_pipeline.marts import clv, pgarrays, sqlfiles


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
    cal_repeat_buyers: int = 0
    params: dict[str, float] = field(default_factory=dict)
    calibration: dict[str, float] = field(default_factory=dict)
    holdout: pd.DataFrame | None = None
    holdout_mae: float | None = None
    spend: clv.GammaGamma | None = None
    converged: bool = False
    problems: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def fit_ok(self) -> bool:
        return not self.problems


def summary(conn: psycopg.Connection, end: date, as_of: date) -> None:
    """clv_customers: every customer's inputs at as_of, and at ``end`` with the holdout purchases that
    followed (``sql/marts/customer_prediction_summary.sql``); dropped when the transaction ends."""
    params = {"as_of": as_of, "cal_day": (end - as_of).days}
    conn.execute(sqlfiles.path("customer_prediction_summary").read_text(), params)


# Customers sharing the same inputs enter the fits once, weighted by their number.
RFM = {"x": "int4", "recency": "int4", "t": "int4", "n": "float8"}
CAL_RFM = {"x": "int4", "recency": "int4", "t": "int4", "holdout": "int4", "n": "float8"}
FULL = "SELECT x, recency, t, count(*)::float8 FROM clv_customers GROUP BY 1, 2, 3"
CALIBRATION = (
    "SELECT cal_x, cal_recency, cal_t, holdout_purchases, count(*)::float8 FROM clv_customers"
    " WHERE cal_t IS NOT NULL GROUP BY 1, 2, 3, 4"
)
SPEND = {"x": "int4", "monetary": "float8", "n": "float8"}
FULL_SPEND = (
    "SELECT x, monetary, count(*)::float8 FROM clv_customers WHERE x > 0 AND monetary > 0 GROUP BY 1, 2"
)
CAL_SPEND = (
    "SELECT cal_x, cal_monetary, count(*)::float8 FROM clv_customers"
    " WHERE cal_x > 0 AND cal_monetary > 0 GROUP BY 1, 2"
)


def _weeks(data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return data["x"].astype(float), data["recency"] / 7, data["t"] / 7, data["n"]


def _fit(conn, rfm, columns, spend, start=None):
    """BG/NBD on the (x, recency, t) counts of ``rfm``; Gamma-Gamma on the (x, monetary) counts of
    ``spend`` (None with fewer than two repeat buyers who spent). ``start``: an earlier fit's
    parameters, close to this optimum (the calibration fit before the full one)."""
    data = pgarrays.read(conn, rfm, columns)
    bg = clv.fit_bgnbd(*_weeks(data), start=start and start[0])
    money = pgarrays.read(conn, spend, SPEND)
    gg = None
    if money["n"].sum() >= 2:
        gg = clv.fit_gamma_gamma(money["x"], money["monetary"], money["n"], start=start and start[1])
    return bg, gg, data


def _params(bg: clv.Fitted, gg: clv.Fitted | None) -> dict[str, float]:
    return bg.asdict() | (gg.asdict() if gg else {})


def _validate(conn: psycopg.Connection, end: date, opts: Options, out: Outcome):
    """The calibration fit and its holdout comparison; returns the fits (None when too few buyers)."""
    if out.cal_repeat_buyers < 2:
        out.problems.append(f"holdout: too few repeat buyers before {end} to validate")
        return None
    bg, gg, cal = _fit(conn, CALIBRATION, CAL_RFM, CAL_SPEND)
    x, t_x, t, n = _weeks(cal)
    (predicted,) = clv.expected_purchases(bg.params, x, t_x, t, [opts.holdout_weeks])
    actual = cal["holdout"].astype(float)
    out.calibration = _params(bg, gg) | {"calibration_end": end, "customers": int(n.sum())}
    columns = ("bucket", "customers", "actual_mean", "predicted_mean")
    out.holdout = pd.DataFrame(dict(zip(columns, clv.holdout_table(x, actual, predicted, n), strict=True)))
    out.holdout_mae = float(n @ np.abs(predicted - actual) / n.sum())
    return (bg.params if bg.converged else None), (gg.params if gg and gg.converged else None)


def run(conn: psycopg.Connection, as_of: date, opts: Options) -> tuple[Outcome, dict[str, np.ndarray] | None]:
    """Fit, validate and score; returns the outcome and the scores of each distinct (x, recency, t)
    (None when unfit). The customers stay in PostgreSQL (clv_customers) until ``write`` joins them."""
    out = Outcome(as_of=as_of)
    started = time.monotonic()
    sqlfiles.apply_settings(conn, {})  # work_mem and no JIT, as for the other marts
    end = as_of - timedelta(weeks=opts.holdout_weeks)
    summary(conn, end, as_of)
    out.customers, out.repeat_buyers, out.cal_repeat_buyers = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE x > 0), count(*) FILTER (WHERE cal_x > 0) FROM clv_customers"
    ).fetchone()
    out.seconds["summary"] = time.monotonic() - started
    if out.repeat_buyers < max(opts.min_repeat_buyers, 2):
        out.problems.append(f"{out.repeat_buyers} repeat buyers, fewer than {opts.min_repeat_buyers}")
        if out.repeat_buyers < 2:
            return out, None
    started = time.monotonic()
    calibrated = _validate(conn, end, opts, out)
    out.seconds["holdout"] = time.monotonic() - started
    started = time.monotonic()
    bg, gg, data = _fit(conn, FULL, RFM, FULL_SPEND, start=calibrated)
    out.params, out.spend = _params(bg, gg), gg.params if gg else None
    out.converged = bg.converged and (gg is None or gg.converged)
    if not out.converged:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in out.params.items())
        out.problems.append(f"the fit did not converge to usable parameters ({shown})")
    out.seconds["fit"] = time.monotonic() - started
    started = time.monotonic()
    scores = score(bg.params, data, annual_discount_rate=opts.annual_discount_rate)
    out.seconds["score"] = time.monotonic() - started
    return out, scores


def score(
    bg: clv.BetaGeo, data: dict[str, np.ndarray], *, annual_discount_rate: float
) -> dict[str, np.ndarray]:
    """Per distinct (x, recency, t): P(alive), expected purchases in 30/90/365 days, the next 12 months'
    expected purchases discounted monthly at ``(1 + annual rate) ** (1/12) - 1``, the median weeks to
    the next purchase (NaN when it is not more likely than not within a year) and P(no purchase in
    52 weeks)."""
    x, t_x, t, _ = _weeks(data)
    out = {k: data[k] for k in ("x", "recency", "t")}
    out["prob_alive"] = clv.prob_alive(bg, x, t_x, t)
    horizons = (30, 90, 365)
    expected = clv.expected_purchases(bg, x, t_x, t, [d / 7 for d in horizons])
    out |= {f"e{days}": e for days, e in zip(horizons, expected, strict=True)}
    monthly = (1 + annual_discount_rate) ** (1 / 12) - 1
    out["discounted_purchases"] = clv.discounted_purchases(bg, x, t_x, t, months=12, monthly_rate=monthly)
    churn = clv.prob_no_purchase(bg, x, t_x, t, clv.NEXT_ORDER_HORIZON_WEEKS)
    out["next_weeks"] = clv.median_weeks_to_next(bg, x, t_x, t, churn)
    out["churn"] = churn
    return out


BG_PARAMS, GG_PARAMS = ("r", "alpha", "a", "b"), ("p", "q", "v")
SCORE_TYPES = {"x": "int4", "recency": "int4", "t": "int4"}  # the rest: float8


def write(conn: psycopg.Connection, out: Outcome, scores: dict[str, np.ndarray] | None, opts: Options) -> int:
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
            *(p.get(k) for k in (*BG_PARAMS, *GG_PARAMS)),
            opts.annual_discount_rate,
            c.get("calibration_end"),
            opts.holdout_weeks,
            c.get("customers"),
            *(c.get(k) for k in (*BG_PARAMS, *GG_PARAMS)),
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
    if scores is None:
        return 0
    conn.execute(
        "CREATE TEMP TABLE clv_scores (x int, recency int, t int, prob_alive float8, e30 float8, e90 float8,"
        " e365 float8, discounted_purchases float8, next_weeks float8, churn float8) ON COMMIT DROP"
    )
    pgarrays.write(conn, "clv_scores", {k: (SCORE_TYPES.get(k, "float8"), v) for k, v in scores.items()})
    spend = {"p": None, "q": None, "v": None} if out.spend is None else asdict(out.spend)
    cur = conn.execute(
        sqlfiles.path("customer_predictions").read_text(),
        {"as_of": out.as_of, "high": opts.churn_high, "medium": opts.churn_medium, **spend},
    )
    return cur.rowcount
