"""Klaviyo activation: profiles by bulk import, Placed Order events, default lists, subscriptions."""
