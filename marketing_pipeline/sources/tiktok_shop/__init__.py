"""TikTok Shop Partner API (202309): orders, signing, the Dagster resource and assets."""
