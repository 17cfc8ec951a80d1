"""Demo data generators: deterministic, realistic deliveries of the departments (DEPARTMENTS.md)."""
