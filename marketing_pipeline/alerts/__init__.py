"""Alerts: failed runs, failed checks (stale sources among them) and unknown recovery sends, to Slack."""
