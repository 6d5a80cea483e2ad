-- One rule for what counts as an order, read by every figure (orders, AOV, the funnel,
-- attribution, segments, RFM, cohorts): neither cancelled nor fully refunded. Kept as a stored
-- column so no reader spells the rule again.
ALTER TABLE core.orders
    ADD COLUMN is_counted boolean GENERATED ALWAYS AS (NOT is_cancelled AND NOT is_refunded) STORED;

-- marts.attribution holds counted orders only (the next refresh rebuilds it; this keeps the
-- readers right until then).
DELETE FROM marts.attribution a USING core.orders o WHERE o.order_key = a.order_key AND NOT o.is_counted;
