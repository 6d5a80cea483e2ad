"""The CDNOW 1/10 sample as the models' per-customer inputs, computed straight from the file (pandas),
independently of the project's SQL: purchase days, weeks from the first one, mean repeat spend."""

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

CDNOW = Path(__file__).parent / "data" / "CDNOW_sample.txt"


def purchases() -> pd.DataFrame:
    rows = [line.split() for line in CDNOW.read_text().splitlines() if line.strip()]
    frame = pd.DataFrame(
        {
            "customer": [r[0] for r in rows],
            "day": pd.to_datetime([r[2] for r in rows], format="%Y%m%d"),
            "value": [float(r[4]) for r in rows],
        }
    )
    return frame.groupby(["customer", "day"], as_index=False)["value"].sum()


def summary(end: date) -> pd.DataFrame:
    """Per customer whose first purchase is on or before ``end``: frequency (repeat purchase days),
    recency and T in weeks, monetary_value (mean value of the repeat days, 0 without one)."""
    days = purchases()
    days = days[days["day"] <= pd.Timestamp(end)]
    first = days.groupby("customer")["day"].transform("min")
    days = days.assign(first=first)
    per = days.groupby("customer").agg(n=("day", "size"), first=("first", "first"), last=("day", "max"))
    repeat = days[days["day"] > days["first"]].groupby("customer")["value"].mean()
    out = pd.DataFrame(
        {
            "frequency": (per["n"] - 1).astype(float),
            "recency": (per["last"] - per["first"]).dt.days / 7,
            "T": (pd.Timestamp(end) - per["first"]).dt.days / 7,
            "monetary_value": repeat.reindex(per.index).fillna(0.0),
        }
    )
    return out.assign(customer_id=np.arange(len(out)))
