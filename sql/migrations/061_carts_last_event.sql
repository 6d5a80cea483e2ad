-- The newest event folded into a cart, by (occurred_at, event_id): an event after it is applied
-- to the stored state (constant work), an earlier one refolds the cart's history.
ALTER TABLE ops.carts ADD COLUMN last_event_id text;
