"""Syncs from the warehouse back to the email platforms: profiles, events, lists, subscriptions."""
