"""The web app: intake endpoints, recovery links and the marketers' dashboard."""
