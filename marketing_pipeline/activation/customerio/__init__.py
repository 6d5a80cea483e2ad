"""Customer.io activation through the Track API: identify people, track order events, suppress and delete."""
