"""PostgreSQL frontend/backend protocol v3 over the lake."""
