"""Where the target lives: deployment and database backends (simulator, PostgreSQL, Docker)."""
