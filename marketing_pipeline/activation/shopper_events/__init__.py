"""Shopper events from the cart intake forwarded to Klaviyo and Customer.io, each event once per destination."""
