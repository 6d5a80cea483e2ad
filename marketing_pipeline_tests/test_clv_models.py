"""The project's BG/NBD and Gamma-Gamma (marketing_pipeline.marts.clv) against pymc-marketing, the
library whose formulas they carry, on the CDNOW sample: the same maximum-likelihood parameters, the
same scores, and a fit on counts of identical customers equal to a fit on every customer."""

from dataclasses import astuple
from datetime import date

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from marketing_pipeline.marts import clv
from marketing_pipeline_tests import cdnow

CALIBRATION_END = date(1997, 9, 30)  # 39 weeks from 1997-01-01, as in the papers


@pytest.fixture(scope="module")
def cal():
    return cdnow.summary(CALIBRATION_END)


def _arrays(frame):
    return (frame[c].to_numpy(float) for c in ("frequency", "recency", "T"))


def _repeat(frame):
    return frame[(frame["frequency"] > 0) & (frame["monetary_value"] > 0)]


def test_a_fit_on_counts_of_identical_customers_equals_a_fit_on_every_customer(cal):
    x, t_x, t = _arrays(cal)
    each = clv.fit_bgnbd(x, t_x, t, np.ones(len(x)))
    triples, counts = np.unique(np.stack([x, t_x, t]), axis=1, return_counts=True)
    assert triples.shape[1] < len(x) / 2  # CDNOW: 2,357 customers, fewer than half as many triples
    grouped = clv.fit_bgnbd(*triples, counts)
    assert each.converged and grouped.converged
    np.testing.assert_allclose(astuple(grouped.params), astuple(each.params), rtol=1e-6)
    assert grouped.neg_log_lik == pytest.approx(each.neg_log_lik, rel=1e-12)
    # Table 1 of "Counting Your Customers the Easy Way".
    assert [round(v, 3) for v in astuple(grouped.params)] == [0.243, 4.414, 0.793, 2.426]


def test_gradients_are_those_of_the_log_likelihood(cal):
    x, t_x, t = _arrays(cal)
    bg = clv.bgnbd_log_lik(x, t_x, t, np.ones(len(x)))
    for point in ([0.3, 4.0, 0.8, 2.5], [1.2, 9.0, 2.0, 0.7]):  # b < 1: one-time buyers' terms stay finite
        numeric = approx_fprime(np.array(point), lambda th: bg(th)[0], 1e-7)
        np.testing.assert_allclose(bg(np.array(point))[1], numeric, rtol=1e-4, atol=1e-3)
    rep = _repeat(cal)
    gg = clv.gamma_gamma_log_lik(
        rep["frequency"].to_numpy(float), rep["monetary_value"].to_numpy(), np.ones(len(rep))
    )
    numeric = approx_fprime(np.array([6.0, 3.5, 15.0]), lambda th: gg(th)[0], 1e-7)
    np.testing.assert_allclose(gg(np.array([6.0, 3.5, 15.0]))[1], numeric, rtol=1e-4, atol=1e-3)


def test_a_parameter_running_off_is_not_a_converged_fit():
    # Nobody ever comes back: the dropout probability runs to 1 (b to 0 or a to infinity).
    x, t_x, t = np.zeros(50), np.zeros(50), np.linspace(10, 60, 50)
    x[:3], t_x[:3] = 1, 0.5
    fitted = clv.fit_bgnbd(x, t_x, t, np.ones(50))
    assert not fitted.converged


@pytest.fixture(scope="module")
def library():
    pytest.importorskip("pymc_marketing", reason="pymc-marketing is the reference (pip install '.[clv]')")
    import arviz as az
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    def with_params(model_cls, data, params):
        model = model_cls()
        model.build_model(data)
        model.idata = az.from_dict(posterior={k: np.array([[v]]) for k, v in params.items()})
        return model

    return BetaGeoModel, GammaGammaModel, with_params


def test_same_parameters_as_pymc_marketing_maximum_likelihood(cal, library):
    from pymc_extras.prior import Prior

    BetaGeoModel, GammaGammaModel, _ = library
    flat = {k: Prior("HalfFlat") for k in ("r", "alpha", "a", "b", "p", "q", "v")}
    bg = BetaGeoModel(model_config={k: flat[k] for k in ("r", "alpha", "a", "b")})
    bg.fit(data=cal[["customer_id", "frequency", "recency", "T"]], method="map", progressbar=False)
    rep = _repeat(cal).reset_index(drop=True)
    gg = GammaGammaModel(model_config={k: flat[k] for k in ("p", "q", "v")})
    gg.fit(data=rep[["customer_id", "frequency", "monetary_value"]], method="map", progressbar=False)
    theirs = {
        k: float(m.idata.posterior[k].values.ravel()[0])
        for m, ks in ((bg, "r alpha a b"), (gg, "p q v"))
        for k in ks.split()
    }
    ours = (
        clv.fit_bgnbd(*_arrays(cal), np.ones(len(cal))).asdict()
        | clv.fit_gamma_gamma(rep["frequency"], rep["monetary_value"], np.ones(len(rep))).asdict()
    )
    assert ours == pytest.approx(theirs, rel=5e-4)
    # Where they differ in the fourth digit, ours is the higher likelihood (the library stops earlier).
    ll = clv.bgnbd_log_lik(*_arrays(cal), np.ones(len(cal)))
    names = ("r", "alpha", "a", "b")
    assert ll([ours[k] for k in names])[0] >= ll([theirs[k] for k in names])[0]


def test_same_scores_as_pymc_marketing(cal, library):
    BetaGeoModel, GammaGammaModel, with_params = library
    data = cdnow.summary(date(1998, 6, 30))
    x, t_x, t = _arrays(data)
    bg_params = clv.BetaGeo(r=0.243, alpha=4.414, a=0.793, b=2.426)
    gg_params = clv.GammaGamma(p=6.25, q=3.74, v=15.44)
    bg = with_params(BetaGeoModel, data[["customer_id", "frequency", "recency", "T"]], bg_params.__dict__)
    gg = with_params(
        GammaGammaModel, data[["customer_id", "frequency", "monetary_value"]], gg_params.__dict__
    )
    rfm = data[["customer_id", "frequency", "recency", "T"]]

    def lib(array):
        return np.asarray(array.values).reshape(-1)

    horizons = [30 / 7, 90 / 7, 52.0]
    for ours, weeks in zip(clv.expected_purchases(bg_params, x, t_x, t, horizons), horizons, strict=True):
        np.testing.assert_allclose(ours, lib(bg.expected_purchases(data=rfm, future_t=weeks)), rtol=1e-10)
    np.testing.assert_allclose(
        clv.prob_alive(bg_params, x, t_x, t), lib(bg.expected_probability_alive(data=rfm)), rtol=1e-12
    )

    # P(no purchase in 52 weeks): the library's for repeat buyers; for one-time buyers (alive for
    # sure, as the model has it) the Poisson-gamma survival ((alpha + T) / (alpha + T + t))^r, which
    # the library's formula misses by keeping the dropout term.
    ours = clv.prob_no_purchase(bg_params, x, t_x, t, 52.0)
    theirs = lib(bg.expected_probability_no_purchase(t=52, data=rfm))
    repeat = x > 0
    np.testing.assert_allclose(ours[repeat], theirs[repeat], rtol=1e-10)
    a, r = bg_params.alpha, bg_params.r
    np.testing.assert_allclose(ours[~repeat], ((a + t[~repeat]) / (a + t[~repeat] + 52)) ** r, rtol=1e-12)
    assert (theirs[~repeat] > ours[~repeat]).all()

    # 12-month CLV, monthly discount: the library's spend x our discounted purchases.
    monthly = 1.1 ** (1 / 12) - 1
    spend = lib(gg.expected_customer_spend(data=data[["customer_id", "frequency", "monetary_value"]]))
    theirs = lib(
        gg.expected_customer_lifetime_value(
            transaction_model=bg, data=data.copy(), future_t=12, discount_rate=monthly, time_unit="W"
        )
    )
    ours = spend * clv.discounted_purchases(bg_params, x, t_x, t, months=12, monthly_rate=monthly)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
