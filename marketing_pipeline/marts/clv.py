"""BG/NBD and Gamma-Gamma with pymc-marketing: maximum-likelihood fits and per-customer scores.

Time is in weeks, as in Fader, Hardie & Lee (2005): ``frequency`` counts repeat purchase *days*
(several orders on one day are one purchase), ``recency`` and ``T`` are weeks from the first
purchase day to the last one and to the end of the period. Flat (HalfFlat) priors make the
MAP estimate the maximum-likelihood estimate the papers report; pymc-marketing's default priors
would pull it away from them.

pymc-marketing is imported inside the functions: it takes seconds to import, and loading the
Dagster definitions must not pay for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

BG_PARAMS = ("r", "alpha", "a", "b")
GG_PARAMS = ("p", "q", "v")
MAX_PARAM = 1e4  # beyond this a parameter is running off along a flat likelihood: not a usable fit
NEXT_ORDER_HORIZON_WEEKS = 52
BISECTIONS = 10  # 52 weeks / 2**10: about a third of a day


@dataclass
class Fit:
    bg: object
    gg: object | None
    params: dict[str, float]
    converged: bool


def _models():
    try:
        from pymc_marketing.clv import BetaGeoModel, GammaGammaModel
    except ImportError as exc:
        raise RuntimeError(
            "customer_predictions needs pymc-marketing: pip install 'marketing_pipeline[clv]'"
        ) from exc
    return BetaGeoModel, GammaGammaModel


def _flat(names) -> dict:
    from pymc_extras.prior import Prior

    return {name: Prior("HalfFlat") for name in names}


def _frame(summary: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": np.arange(len(summary)),
            "frequency": summary["frequency"].to_numpy(float),
            "recency": summary["recency"].to_numpy(float),
            "T": summary["T"].to_numpy(float),
            "monetary_value": summary["monetary_value"].to_numpy(float),
        }
    )


def _point(model, names) -> dict[str, float]:
    post = model.idata.posterior
    return {name: float(post[name].values.ravel()[0]) for name in names}


def fit(summary: pd.DataFrame) -> Fit:
    """BG/NBD on every customer; Gamma-Gamma on those with a repeat purchase of positive mean value."""
    BetaGeoModel, GammaGammaModel = _models()
    data = _frame(summary)
    bg = BetaGeoModel(model_config=_flat(BG_PARAMS))
    bg.fit(data=data[["customer_id", "frequency", "recency", "T"]], method="map", progressbar=False)
    params = _point(bg, BG_PARAMS)
    repeat = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)]
    gg = None
    if len(repeat) >= 2:
        gg = GammaGammaModel(model_config=_flat(GG_PARAMS))
        gg.fit(
            data=repeat[["customer_id", "frequency", "monetary_value"]].reset_index(drop=True),
            method="map",
            progressbar=False,
        )
        params |= _point(gg, GG_PARAMS)
    converged = all(math.isfinite(v) and 0 < v < MAX_PARAM for v in params.values())
    return Fit(bg=bg, gg=gg, params=params, converged=converged)


def _values(array) -> np.ndarray:
    """A MAP prediction (chain=1, draw=1, customer_id) as a plain vector."""
    return np.asarray(array.values).reshape(-1)


def expected_purchases(fit_: Fit, summary: pd.DataFrame, weeks: float) -> np.ndarray:
    data = _frame(summary)[["customer_id", "frequency", "recency", "T"]]
    return _values(fit_.bg.expected_purchases(data=data, future_t=weeks))


def score(fit_: Fit, summary: pd.DataFrame, *, annual_discount_rate: float) -> pd.DataFrame:
    """Per customer: P(alive), expected purchases in 30/90/365 days, expected order value, 12-month
    CLV discounted monthly at ``(1 + annual rate) ** (1/12) - 1``, the median weeks to the next
    purchase (NaN when it is not more likely than not within a year) and P(no purchase in 52 weeks)."""
    data = _frame(summary)
    rfm = data[["customer_id", "frequency", "recency", "T"]]
    out = pd.DataFrame(index=summary.index)
    out["prob_alive"] = _values(fit_.bg.expected_probability_alive(data=rfm))
    for days in (30, 90, 365):
        out[f"expected_purchases_{days}d"] = _values(fit_.bg.expected_purchases(data=rfm, future_t=days / 7))
    out["churn_probability"] = _no_purchase(fit_, rfm, NEXT_ORDER_HORIZON_WEEKS)
    out["next_order_weeks"] = _median_weeks(fit_, rfm, out["churn_probability"].to_numpy())
    if fit_.gg is None:
        out["expected_order_value"] = np.nan
        out["predicted_clv_12m"] = np.nan
        return out
    spend = _values(
        fit_.gg.expected_customer_spend(data=data[["customer_id", "frequency", "monetary_value"]])
    )
    out["expected_order_value"] = spend
    monthly = (1 + annual_discount_rate) ** (1 / 12) - 1
    clv = fit_.gg.expected_customer_lifetime_value(
        transaction_model=fit_.bg,
        data=data.copy(),  # it writes a future_spend column into the frame
        future_t=12,
        discount_rate=monthly,
        time_unit="W",
    )
    out["predicted_clv_12m"] = _values(clv)
    return out


def _no_purchase(fit_: Fit, rfm: pd.DataFrame, weeks) -> np.ndarray:
    """P(no purchase in the next ``weeks``), a number or one per customer."""
    if np.ndim(weeks):
        import xarray

        weeks = xarray.DataArray(weeks, dims=("customer_id",), coords={"customer_id": rfm["customer_id"]})
    return _values(fit_.bg.expected_probability_no_purchase(t=weeks, data=rfm))


def _median_weeks(fit_: Fit, rfm: pd.DataFrame, at_horizon: np.ndarray) -> np.ndarray:
    """Weeks until P(no purchase yet) falls to one half (bisection, to about half a day); NaN when it
    is still above one half at the horizon."""
    lo = np.zeros(len(rfm))
    hi = np.full(len(rfm), float(NEXT_ORDER_HORIZON_WEEKS))
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2
        below = _no_purchase(fit_, rfm, mid) <= 0.5
        hi, lo = np.where(below, mid, hi), np.where(below, lo, mid)
    return np.where(at_horizon <= 0.5, hi, np.nan)


def holdout_table(x_cal: np.ndarray, actual: np.ndarray, predicted: np.ndarray, top: int = 7) -> pd.DataFrame:
    """Mean actual vs predicted holdout purchases by calibration repeat purchases (``top`` = that many or
    more), the papers' figure."""
    frame = pd.DataFrame(
        {"bucket": np.minimum(x_cal.astype(int), top), "actual": actual, "predicted": predicted}
    )
    table = frame.groupby("bucket").agg(
        customers=("actual", "size"), actual_mean=("actual", "mean"), predicted_mean=("predicted", "mean")
    )
    return table.reset_index()
