"""Abandoned-cart recovery: intake of cart events, the sensor, the recovery job, links and reporting."""
