-- When a claimed step passed its exit rules (about to be sent). The one-sequence-per-person cap
-- counts only such rows: claims of other carts still being checked must not make every cart skip.
ALTER TABLE ops.recovery_outbox ADD COLUMN passed_rules_at timestamptz;
UPDATE ops.recovery_outbox SET passed_rules_at = claimed_at WHERE status IN ('sent', 'unknown');
