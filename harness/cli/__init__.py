"""The `readiness` command (app.py), the forms its options accept (options.py) and what
it shows on the terminal (console.py). `python -m harness.cli` runs it as well."""

from harness.cli.app import app, main

__all__ = ["app", "main"]
