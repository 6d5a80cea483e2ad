"""Google Analytics 4 Data API (v1beta): daily traffic and landing-page reports, auth."""
