"""Shared building blocks of every SecureConnect service.

settings (secrets from *_FILE), logging (JSON lines), metrics (Prometheus),
middleware (time budget, security headers, request id, body limit), db
(async SQLAlchemy over TLS), redis (degraded mode with in-memory fallback),
tokens (JWT issue/verify + revocation), ratelimit, health, and `create_app`.
"""
