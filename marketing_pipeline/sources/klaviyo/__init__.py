"""Klaviyo (API revision 2026-07-15): client, models, Dagster resource and assets."""
