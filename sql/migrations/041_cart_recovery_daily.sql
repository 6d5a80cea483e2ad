-- Cart recovery results per abandonment day, channel and step (filled by sql/marts/cart_recovery_daily.sql).
-- step 0 is the whole sequence: carts abandoned and recovered by any step.
CREATE TABLE marts.cart_recovery_daily (
    day                      date     NOT NULL,       -- brand-local day the cart was abandoned
    channel                  text     NOT NULL,       -- website | tiktok_shop
    step                     smallint NOT NULL,       -- 0 = all steps, 1 reminder, 2 urgency, 3 offer
    carts_abandoned          integer  NOT NULL,       -- step 0: abandoned carts; step n: carts that got step n
    carts_emailable          integer  NOT NULL,       -- with an email (only these are emailed)
    emails_sent              integer  NOT NULL,
    carts_clicked            integer  NOT NULL,
    recovered_carts          integer  NOT NULL,       -- ordered within the window after this step's email
    recovered_after_click    integer  NOT NULL,
    recovered_without_click  integer  NOT NULL,
    recovered_revenue        numeric  NOT NULL,
    recovery_rate            numeric,                 -- recovered / emailed carts (step 0: / abandoned)
    attribution_days         integer  NOT NULL,
    PRIMARY KEY (day, channel, step)
);
