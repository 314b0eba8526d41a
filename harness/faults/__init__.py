"""Fault injection: faults applied to a running stack through its platform and its
Toxiproxy (harness.toxiproxy), each proven to have touched traffic (injector.py), and
PostgreSQL's own faults (postgres.py)."""
