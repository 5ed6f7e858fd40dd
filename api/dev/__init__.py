"""The local PostgreSQL and Valkey the project starts for itself, and the supervisor behind `linli up`."""
