"""Automation: what runs each asset without a person (conditions, schedules, sensors)."""
