"""docs/api.md is what the services' OpenAPI says, route for route."""

from __future__ import annotations

import re
from pathlib import Path

from secureconnect.apidoc import METHODS, SERVICES, build_spec, render
from secureconnect.chat.events import EVENT_TYPES

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
REGENERATE = "regenerate it: python -m secureconnect.apidoc docs/api.md"


def test_every_route_and_event_is_documented() -> None:
    documented = set(re.findall(r"^\| ([A-Z]+) \| `([^`]+)` \|", API_DOC.read_text(), re.M))
    routes = {
        (method.upper(), path)
        for service in SERVICES
        for path, item in build_spec(*service)["paths"].items()
        for method in METHODS
        if method in item
    }
    missing = sorted(routes - documented)
    assert not missing, f"routes missing from docs/api.md: {missing}; {REGENERATE}"
    assert not documented - routes, f"docs/api.md lists routes that no longer exist; {REGENERATE}"
    text = API_DOC.read_text()
    assert all(f"`{event}`" in text for event in EVENT_TYPES)


def test_the_reference_is_current() -> None:
    assert API_DOC.read_text() == render(), f"docs/api.md is stale; {REGENERATE}"
