"""Vendor sources: one package per vendor, everything it knows in one place."""
