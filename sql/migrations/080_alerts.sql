-- Alerts sent to Slack: one row per thing alerted on. The key is claimed (inserted) before the
-- message is posted, so a repeat of the same failure, stale source or unknown send posts nothing.
CREATE TABLE ops.alerts (
    alert_key     text        PRIMARY KEY,   -- e.g. run_failure:<run id>, check_failed:<asset>/<check>:<day>
    kind          text        NOT NULL,      -- run_failure | check_failed | recovery_unknown
    message       text        NOT NULL,
    link          text,                      -- the run or asset in the Dagster UI
    created_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    delivered_via text                       -- slack_api | slack_webhook
);
