"""Core model and marts: SQL in ``sql/marts`` run inside PostgreSQL by Dagster assets."""
