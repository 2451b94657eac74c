"""The state-store contract suite: one set of tests, run against SQLite and PostgreSQL."""
