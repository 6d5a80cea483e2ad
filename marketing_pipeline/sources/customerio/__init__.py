"""Customer.io: App API reporting (campaigns, newsletters, broadcasts, deliveries) and reporting webhooks."""
