"""The yardstick of the performance table: a plain FastAPI JSON endpoint.

The performance issue states its CPU targets for a machine on which such an
endpoint costs ~0.2 ms of CPU per request. gateway_overhead.py serves this app
with the services' own uvicorn settings (one worker, uvloop and httptools, no
access log) beside the stack and measures its CPU per request in the same run,
so CPU figures can be read in units of it on a machine of another speed.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/plain")
async def plain() -> dict[str, str]:
    return {"id": "0b5e7c1e", "email": "someone@example.com", "display_name": "Someone"}
