"""The auth service: accounts, e-mail verification, sessions and tokens."""
