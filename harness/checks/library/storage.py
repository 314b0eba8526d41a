"""What an S3 bucket really holds: read every object back with the deployment's keys."""

from __future__ import annotations

from collections.abc import Iterator

import urllib3
from minio import Minio
from minio.datatypes import Object
from minio.error import S3Error

READ_TIMEOUT_S = 30.0


def _walk(client: Minio, bucket: str, prefix: str = "") -> Iterator[Object]:
    """Every object under `prefix`, one directory level at a time (s3s-fs mangles keys
    in a recursive listing, so this uses the delimiter-based one)."""
    for item in client.list_objects(bucket, prefix=prefix):
        if item.is_dir:
            yield from _walk(client, bucket, item.object_name or "")
        else:
            yield item


def stored_objects(endpoint: str, access_key: str, secret_key: str) -> dict[str, bytes]:
    """bucket/key → bytes of every object on the server."""
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=READ_TIMEOUT_S))
    client = Minio(endpoint, access_key, secret_key, secure=False, http_client=http)
    found = {}
    for bucket in client.list_buckets():
        for item in _walk(client, bucket.name):
            try:
                response = client.get_object(bucket.name, item.object_name or "")
            except S3Error as exc:
                if exc.code == "NoSuchKey":  # removed between the listing and the read
                    continue
                raise
            try:
                found[f"{bucket.name}/{item.object_name}"] = response.read()
            finally:
                response.close()
                response.release_conn()
    return found


def holding(objects: dict[str, bytes], marker: bytes) -> list[str]:
    return sorted(key for key, body in objects.items() if marker in body)
