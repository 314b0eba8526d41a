"""Helpers of the storage suite: users, the upload flow, metrics of a component."""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx
from minio import Minio
from secureconnect.common.s3 import minio_client
from secureconnect.common.settings import S3Settings

from harness.platform.base import Platform
from tests.helpers import bearer, metric, new_session

FILES = "/api/v1/files"
BUCKET = S3Settings().s3_bucket


@dataclass(frozen=True)
class Session:
    client: httpx.AsyncClient
    headers: dict[str, str]
    user_id: str


async def new_user(client: httpx.AsyncClient) -> Session:
    _, tokens = await new_session(client)
    headers = bearer(tokens)
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200, me.text
    return Session(client, headers, me.json()["user_id"])


async def request_upload(
    user: Session, size: int, filename: str = "notes.bin", content_type: str = "application/pdf"
) -> httpx.Response:
    body = {"filename": filename, "content_type": content_type, "size": size}
    return await user.client.post(f"{FILES}/upload-url", json=body, headers=user.headers)


async def put_object(url: str, data: bytes) -> httpx.Response:
    """The client's own PUT to the presigned URL, straight to S3."""
    async with httpx.AsyncClient(timeout=15.0) as s3_client:
        return await s3_client.put(url, content=data)


async def upload(user: Session, data: bytes | None = None) -> tuple[str, bytes]:
    """Upload-url, PUT, complete: (file id, bytes uploaded)."""
    data = os.urandom(70_000) if data is None else data
    grant = await request_upload(user, len(data))
    assert grant.status_code == 201, grant.text
    put = await put_object(grant.json()["upload_url"], data)
    assert put.status_code == 200, put.text
    file_id = grant.json()["file_id"]
    done = await user.client.post(f"{FILES}/{file_id}/complete", headers=user.headers)
    assert done.status_code == 200, done.text
    return file_id, data


async def download(user: Session, file_id: str) -> bytes:
    link = await user.client.get(f"{FILES}/{file_id}/download-url", headers=user.headers)
    assert link.status_code == 200, link.text
    async with httpx.AsyncClient(timeout=15.0) as anonymous:
        fetched = await anonymous.get(link.json()["url"])
    assert fetched.status_code == 200, fetched.text
    return fetched.content


async def metrics_text(stack: Platform, component: str) -> str:
    async with httpx.AsyncClient(timeout=5.0) as client:
        return (await client.get(f"{stack.endpoint(component).url}/metrics")).text


async def component_metric(stack: Platform, component: str, name: str, **labels: str) -> float:
    """One sample of a component's /metrics; a series that does not exist yet counts as 0."""
    return metric(await metrics_text(stack, component), name, **labels) or 0.0


async def metric_sum(stack: Platform, component: str, name: str, **labels: str) -> float:
    """The sum of every series of `name` whose labels include `labels`."""
    total = 0.0
    for line in (await metrics_text(stack, component)).splitlines():
        if not line.startswith(name + "{"):
            continue
        series, value = line.rsplit(" ", 1)
        if all(f'{k}="{v}"' in series for k, v in labels.items()):
            total += float(value)
    return total


def s3_direct(stack: Platform) -> Minio:
    """S3 itself, bypassing the service: to look at what is stored at rest."""
    return minio_client(
        f"http://{stack.endpoint('s3').address}",
        stack.secret("s3_access_key"),
        stack.secret("s3_secret_key"),
    )


def stored_objects(s3: Minio, prefix: str) -> list[str]:
    return [o.object_name or "" for o in s3.list_objects(BUCKET, prefix=prefix) if not o.is_dir]
