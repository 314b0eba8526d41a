"""request_timeout_total exists at 0 for every route from start-up, so rate() sees the
first burst of timeouts (a series born at 40 has no increase to measure)."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import REGISTRY
from secureconnect.common.app import create_app, no_resources
from secureconnect.common.settings import ServiceSettings


def test_every_route_has_a_timeout_series_at_zero() -> None:
    router = APIRouter(prefix="/api/v1/widgets")

    @router.get("/{widget_id}")
    async def widget(widget_id: str) -> dict[str, str]:
        return {"widget_id": widget_id}

    create_app(
        ServiceSettings(environment="test", service_name="series-test"),
        lifespan=no_resources,
        routers=[router],
    )
    value = REGISTRY.get_sample_value(
        "request_timeout_total",
        {"service": "series-test", "route": "/api/v1/widgets/{widget_id}"},
    )
    assert value == 0.0
    assert (
        REGISTRY.get_sample_value(
            "request_timeout_total", {"service": "series-test", "route": "/health"}
        )
        is None
    )
