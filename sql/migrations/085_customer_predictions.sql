-- Predicted CLV and churn risk (BG/NBD + Gamma-Gamma), one snapshot per as_of day (a month end),
-- the fit behind each snapshot with its holdout validation, and two segment flags from them.
CREATE TABLE marts.customer_prediction_fits (
    as_of            date PRIMARY KEY,
    fitted_at        timestamptz NOT NULL DEFAULT now(),
    customers        integer NOT NULL,
    repeat_buyers    integer NOT NULL,           -- customers with at least one repeat purchase day
    r double precision, alpha double precision, a double precision, b double precision,  -- BG/NBD, weeks
    p double precision, q double precision, v double precision,                          -- Gamma-Gamma
    annual_discount_rate double precision NOT NULL,
    calibration_end  date,                       -- holdout validation: fit up to here, compare after
    holdout_weeks    integer,
    holdout_customers integer,
    cal_r double precision, cal_alpha double precision, cal_a double precision, cal_b double precision,
    cal_p double precision, cal_q double precision, cal_v double precision,
    holdout_mae      double precision,           -- mean |predicted - actual| holdout purchases per customer
    converged        boolean NOT NULL,
    fit_ok           boolean NOT NULL,           -- false: predictions kept for inspection, not used by segments
    problems         text
);

CREATE TABLE marts.customer_prediction_holdout (
    as_of            date    NOT NULL REFERENCES marts.customer_prediction_fits ON DELETE CASCADE,
    calibration_repeat_purchases integer NOT NULL,  -- the last bucket is "this many or more"
    customers        integer NOT NULL,
    actual_mean      double precision NOT NULL,
    predicted_mean   double precision NOT NULL,
    PRIMARY KEY (as_of, calibration_repeat_purchases)
);

CREATE TABLE marts.customer_predictions (
    as_of            date    NOT NULL,
    customer_id      text    NOT NULL,
    frequency        integer NOT NULL,           -- repeat purchase days up to as_of
    recency_weeks    double precision NOT NULL,
    t_weeks          double precision NOT NULL,
    prob_alive       double precision NOT NULL,
    expected_purchases_30d  double precision NOT NULL,
    expected_purchases_90d  double precision NOT NULL,
    expected_purchases_365d double precision NOT NULL,
    expected_order_value    numeric,
    predicted_clv_12m       numeric,             -- discounted at the fit's annual_discount_rate
    clv_percentile          double precision,    -- percent_rank of predicted_clv_12m within as_of
    predicted_next_order_date date,              -- median time to the next purchase; NULL: not within a year
    churn_probability       double precision NOT NULL,  -- P(no purchase in the next 52 weeks)
    churn_risk              text NOT NULL,       -- low | medium | high
    PRIMARY KEY (as_of, customer_id)
);

ALTER TABLE marts.customer_segments
    ADD COLUMN likely_to_churn boolean NOT NULL DEFAULT false,
    ADD COLUMN high_predicted_value boolean NOT NULL DEFAULT false;
