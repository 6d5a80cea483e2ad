"""BG/NBD and Gamma-Gamma: maximum likelihood on counts of identical customers, scores as arrays.

Time is in weeks, as in Fader, Hardie & Lee (2005): ``x`` counts repeat purchase *days*, ``t_x`` and
``T`` are weeks from the first purchase day to the last one and to the end of the period.

The formulas are pymc-marketing's (``BetaGeoModel``, ``GammaGammaModel``, ``customer_lifetime_value``,
0.19), and ``test_clv_models.py`` checks every one against the library. They run here on numpy arrays
because the library cannot do what the scale needs: importing it and compiling its PyTensor graphs
costs 20-40 s of a monthly run before the first iteration, and it cannot weight a row by the number
of customers sharing it. The log-likelihood is a sum over customers, so customers with the same
(x, t_x, T) enter once with their count as weight: the same maximum, a fraction of the work.
Parameters are optimised on the log scale with L-BFGS-B and exact gradients, from 1 (as the
library's flat priors start).
"""

from __future__ import annotations

import math
from dataclasses import asdict, astuple, dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

GTOL = 1e-9  # on the mean log-likelihood's gradient in log-parameters
MAX_PARAM = 1e4  # beyond this a parameter is running off along a flat likelihood: not a usable fit
NEXT_ORDER_HORIZON_WEEKS = 52
BISECTIONS = 10  # 52 weeks / 2**10: about a third of a day
WEEKS_PER_MONTH = 4.345  # the library's month for weekly data


@dataclass(frozen=True)
class BetaGeo:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    v: float


@dataclass(frozen=True)
class Fitted:
    params: BetaGeo | GammaGamma
    converged: bool
    neg_log_lik: float  # per customer, at the optimum
    iterations: int

    def asdict(self) -> dict[str, float]:
        return asdict(self.params)


def _fitted(params, res) -> Fitted:
    """Converged: the optimizer says so, or it stopped on a line search at a zero gradient (the mean
    log-likelihood is flat to machine precision there); usable: every parameter finite and moderate."""
    at_optimum = bool(res.success) or float(np.max(np.abs(res.jac))) < 100 * GTOL
    usable = all(math.isfinite(v) and 0 < v < MAX_PARAM for v in asdict(params).values())
    return Fitted(params, at_optimum and usable, float(res.fun), int(res.nit))


def _maximise(objective, start: np.ndarray, weight: np.ndarray):
    total = float(weight.sum())

    def mean_neg(log_theta):
        ll, grad = objective(np.exp(log_theta))
        return -ll / total, -grad * np.exp(log_theta) / total  # chain rule to the log scale

    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return minimize(
            mean_neg,
            np.log(start),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 2000, "ftol": 1e-13, "gtol": GTOL},
        )


def _log_c4(a, b, x, repeat):
    """log(a / (b + x - 1)) for repeat buyers; unused (0) for the others, where b - 1 may be negative."""
    return np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)), 0.0)


def bgnbd_log_lik(x, t_x, T, weight):
    """The weighted BG/NBD log-likelihood (the paper's eq. 6, the library's ``BetaGeoNBD.logp``) as a
    function of (r, alpha, a, b) returning the value and the gradient. Terms that depend on x alone
    (the gamma functions) are summed per distinct x: a few dozen values."""
    repeat = x > 0
    xs, inverse = np.unique(x, return_inverse=True)
    wx = np.bincount(inverse, weights=weight)
    w_rep, x_rep, t_x_rep, T_rep = weight[repeat], x[repeat], t_x[repeat], T[repeat]
    w_one, T_one = weight[~repeat], T[~repeat]  # x = 0: recency 0, and only the "alive" term

    def value_and_grad(theta):
        r, alpha, a, b = theta
        log_alpha = math.log(alpha)
        d1 = (
            gammaln(r + xs) - gammaln(r) + gammaln(a + b) + gammaln(b + xs) - gammaln(b) - gammaln(a + b + xs)
        )
        # One-time buyers: log L = d1(0) + r log(alpha) - r log(alpha + T).
        big_u1 = np.log(alpha + T_one)
        ll = wx @ d1 + w_one @ (r * log_alpha - r * big_u1)
        g_r = w_one @ (log_alpha - big_u1)
        g_alpha = w_one @ (r / alpha - r / (alpha + T_one))
        # Repeat buyers: + log(c3 + c4), c3 = ((alpha + t_x) / (alpha + T))^(r + x), c4 = a / (b + x - 1).
        u, big_u = np.log(alpha + t_x_rep), np.log(alpha + T_rep)
        log_c3 = (r + x_rep) * (u - big_u)
        bx = b + x_rep - 1
        both = np.logaddexp(log_c3, math.log(a) - np.log(bx))
        ll += w_rep @ (r * log_alpha - (r + x_rep) * u + both)
        s3 = np.exp(log_c3 - both)  # share of the "still alive" term
        ws4 = w_rep * (1 - s3)
        g_r += w_rep @ (log_alpha - u + s3 * (u - big_u))
        g_alpha += w_rep @ (r / alpha - (r + x_rep) / (alpha + t_x_rep))
        g_alpha += (w_rep * s3) @ ((r + x_rep) * (1 / (alpha + t_x_rep) - 1 / (alpha + T_rep)))
        dg_ab, dg_abx = digamma(a + b), digamma(a + b + xs)
        grad = np.array(
            [
                g_r + wx @ (digamma(r + xs) - digamma(r)),
                g_alpha,
                wx @ (dg_ab - dg_abx) + ws4.sum() / a,
                wx @ (dg_ab + digamma(b + xs) - digamma(b) - dg_abx) - ws4 @ (1 / bx),
            ]
        )
        return float(ll), grad

    return value_and_grad


def fit_bgnbd(x, t_x, T, weight, start: BetaGeo | None = None) -> Fitted:
    x, t_x, T, weight = (np.asarray(v, float) for v in (x, t_x, T, weight))
    first = np.array(astuple(start)) if start else np.ones(4)
    res = _maximise(bgnbd_log_lik(x, t_x, T, weight), first, weight)
    return _fitted(BetaGeo(*np.exp(res.x).tolist()), res)


def gamma_gamma_log_lik(x, z, weight):
    """The weighted Gamma-Gamma log-likelihood of mean spend ``z`` over ``x`` repeat purchases (the
    library's ``GammaGammaModel`` potential, Fader & Hardie's note eq. 1a) as a function of (p, q, v)
    returning the value and the gradient. Only log(x z + v) needs every row at each step."""
    xs, inverse = np.unique(x, return_inverse=True)
    wx = np.bincount(inverse, weights=weight)
    w, xz = weight.sum(), x * z
    log_z = np.log(z)
    sum_wx_logz, sum_w_logz = (weight * x) @ log_z, weight @ log_z
    log_xs = np.log(xs)

    def value_and_grad(theta):
        p, q, v = theta
        pxs = p * xs
        log_xz_v = np.log(xz + v)
        ll = (
            wx @ (gammaln(pxs + q) - gammaln(pxs) + pxs * log_xs)
            - w * gammaln(q)
            + w * q * math.log(v)
            + p * sum_wx_logz
            - sum_w_logz
            - (p * weight * x + q * weight) @ log_xz_v
        )
        psi = digamma(pxs + q)
        grad = np.array(
            [
                wx @ (xs * (psi - digamma(pxs) + log_xs)) + sum_wx_logz - (weight * x) @ log_xz_v,
                wx @ psi - w * digamma(q) + w * math.log(v) - weight @ log_xz_v,
                w * q / v - (weight * (p * x + q)) @ (1 / (xz + v)),
            ]
        )
        return float(ll), grad

    return value_and_grad


def fit_gamma_gamma(x, z, weight, start: GammaGamma | None = None) -> Fitted:
    x, z, weight = (np.asarray(v, float) for v in (x, z, weight))
    first = np.array(astuple(start)) if start else np.ones(3)
    res = _maximise(gamma_gamma_log_lik(x, z, weight), first, weight)
    return _fitted(GammaGamma(*np.exp(res.x).tolist()), res)


def expected_purchases(bg: BetaGeo, x, t_x, T, ts) -> list[np.ndarray]:
    """E[purchases in (T, T + t]] given (x, t_x, T) for each t in ``ts``: the paper's eq. 10. The
    hypergeometric part depends on (x, T) alone, so it is computed once per distinct pair."""
    r, alpha, a, b = bg.r, bg.alpha, bg.a, bg.b
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    key = x * 1e6 + np.round(T * 7)  # T is whole days / 7
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    px, pT = x[first], T[first]
    repeat = x > 0
    denominator = 1 + repeat * np.exp(
        _log_c4(a, b, x, repeat) + (r + x) * np.log((alpha + T) / (alpha + t_x))
    )
    out = []
    for t in ts:
        ratio = ((alpha + pT) / (alpha + pT + t)) ** (r + px)
        numerator = (1 - ratio * hyp2f1(r + px, b + px, a + b + px - 1, t / (alpha + pT + t))) * (
            (a + b + px - 1) / (a - 1)
        )
        out.append(numerator[inverse.reshape(-1)] / denominator)
    return out


def prob_alive(bg: BetaGeo, x, t_x, T) -> np.ndarray:
    """P(alive at T): 1 without a repeat purchase (dropout follows a purchase), else Hardie's note 021."""
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    repeat = x > 0
    log_div = (bg.r + x) * np.log((bg.alpha + T) / (bg.alpha + t_x)) + _log_c4(bg.a, bg.b, x, repeat)
    return np.where(repeat, expit(-log_div), 1.0)


def prob_no_purchase(bg: BetaGeo, x, t_x, T, t) -> np.ndarray:
    """P(no purchase in (T, T + t]): Hardie's note 039 eq. 34 with y = 0, as in the library, except
    that the "dropped out after the last purchase" term exists only for repeat buyers (the likelihood's
    delta(x > 0)). pymc-marketing 0.19 keeps it for x = 0 too, which overstates a one-time buyer's
    chance of never buying again (0.895 instead of 0.800 on CDNOW at T = 30 weeks, t = 52)."""
    r, alpha, a, b = bg.r, bg.alpha, bg.a, bg.b
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    repeat = x > 0
    beta_rep = betaln(a, b + x)
    k_e = np.where(
        repeat, betaln(a + 1, np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x), -np.inf
    )
    k_f = beta_rep - (r + x) * np.log(alpha + T + t)
    k_m = beta_rep - (r + x) * np.log(alpha + T)
    return np.exp(np.logaddexp(k_e, k_f) - np.logaddexp(k_e, k_m))


def median_weeks_to_next(bg: BetaGeo, x, t_x, T, at_horizon: np.ndarray) -> np.ndarray:
    """Weeks until P(no purchase yet) falls to one half (bisection, to about a third of a day); NaN
    when it is still above one half at the horizon."""
    lo = np.zeros(len(x))
    hi = np.full(len(x), float(NEXT_ORDER_HORIZON_WEEKS))
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2
        below = prob_no_purchase(bg, x, t_x, T, mid) <= 0.5
        hi, lo = np.where(below, mid, hi), np.where(below, lo, mid)
    return np.where(at_horizon <= 0.5, hi, np.nan)


def discounted_purchases(bg: BetaGeo, x, t_x, T, *, months: int, monthly_rate: float) -> np.ndarray:
    """Sum over the next ``months`` of each month's expected purchases discounted to today: the
    library's ``customer_lifetime_value`` without the spend factor (CLV = this x expected spend)."""
    total, before = np.zeros(len(x)), np.zeros(len(x))
    steps = [month * WEEKS_PER_MONTH for month in range(1, months + 1)]
    for month, cumulative in enumerate(expected_purchases(bg, x, t_x, T, steps), start=1):
        total += (cumulative - before) / (1 + monthly_rate) ** month
        before = cumulative
    return total


def holdout_table(
    x_cal: np.ndarray, actual: np.ndarray, predicted: np.ndarray, weight: np.ndarray, top: int = 7
):
    """Mean actual vs predicted holdout purchases by calibration repeat purchases (``top`` = that many or
    more), the papers' figure: (bucket, customers, actual_mean, predicted_mean) arrays."""
    bucket = np.minimum(x_cal.astype(int), top)
    customers = np.bincount(bucket, weights=weight, minlength=top + 1)
    present = customers > 0
    actual_sum = np.bincount(bucket, weights=weight * actual, minlength=top + 1)
    predicted_sum = np.bincount(bucket, weights=weight * predicted, minlength=top + 1)
    buckets = np.arange(top + 1)[present]
    return (
        buckets,
        customers[present].astype(int),
        actual_sum[present] / customers[present],
        predicted_sum[present] / customers[present],
    )
