"""Twilio SendGrid v3: mail send, suppression lists, the Dagster resource."""
