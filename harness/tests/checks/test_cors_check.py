"""SEC-009's logic against real apps with Starlette's CORS middleware: a wildcard with
credentials and a catch-all origin fail; an allow-list passes and its origin works."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from harness.checks.evidence import EvidenceLog
from harness.checks.library import cors
from harness.tests.checks.asgi import served

ALLOWED = "https://app.example"
TOKEN = {"Authorization": "Bearer t"}


def app_with_cors(**options: Any) -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    if options:
        app.add_middleware(CORSMiddleware, allow_methods=["*"], allow_headers=["*"], **options)
    return app


def defects_of(app: FastAPI, allowed_origins: list[str]) -> list[str]:
    with served(app) as url:
        return cors.cors_defects("svc", url, ["/health"], TOKEN, EvidenceLog(), allowed_origins)


def test_wildcard_with_credentials_fails() -> None:
    found = defects_of(app_with_cors(allow_origins=["*"], allow_credentials=True), [])
    assert any("preflight" in d for d in found), found
    assert any("credentialed request" in d for d in found), found


def test_reflecting_any_origin_fails() -> None:
    app = app_with_cors(allow_origin_regex=".*", allow_credentials=True)
    found = defects_of(app, [])
    assert any("preflight reflects the foreign origin" in d for d in found), found
    assert any("credentialed request reflects the foreign origin" in d for d in found), found


@pytest.mark.parametrize("allowed_origins", [[], [ALLOWED]])
def test_an_allow_list_passes(allowed_origins: list[str]) -> None:
    app = app_with_cors(allow_origins=[ALLOWED], allow_credentials=True)
    assert defects_of(app, allowed_origins) == []


def test_no_cors_at_all_is_safe_but_refuses_the_allowed_origin() -> None:
    assert defects_of(app_with_cors(), []) == []
    found = defects_of(app_with_cors(), [ALLOWED])
    assert any(f"the allowed origin {ALLOWED} got" in d for d in found), found
