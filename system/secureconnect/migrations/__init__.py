"""Alembic migrations of the whole product (one PostgreSQL schema).

Run as the database owner: `python -m secureconnect.migrations upgrade`.
Connection settings are the services' own (SC_DB_*), TLS included.
"""
