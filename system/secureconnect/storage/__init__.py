"""Storage service: presigned uploads, envelope encryption at rest, quotas."""
