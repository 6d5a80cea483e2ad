"""Website (storefront) orders: pushed at checkout or imported from CSV history; no API to pull."""
