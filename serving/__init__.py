"""ecolake serving: the SQL gateway (PostgreSQL wire protocol), the HTTP API and the catalog."""
