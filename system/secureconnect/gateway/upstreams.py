"""Which service answers which path prefix, and where it lives."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from secureconnect.common.errors import DomainError
from secureconnect.gateway.settings import GatewaySettings
from secureconnect.gateway.transport import Origin

#: /api/v1/<prefix>... → service
API_PREFIXES: dict[str, str] = {
    "auth": "auth",
    "conversations": "chat",
    "messages": "chat",
    "search": "chat",
    "presence": "chat",
    "polls": "chat",
    "calls": "video",
    "files": "storage",
}


@dataclass
class Upstream:
    """One service: its instances (`urls`, parsed once into origins), picked round-robin."""

    name: str
    urls: list[str]
    _origins: list[Origin] = field(init=False, repr=False)
    _cycle: Iterator[Origin] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.urls = [url.rstrip("/") for url in self.urls]
        self._origins = [Origin.parse(url) for url in self.urls]
        self._cycle = itertools.cycle(self._origins)

    def pick(self) -> Origin:
        if not self.urls:
            raise DomainError(
                503, "service_unavailable", f"the {self.name} service is not configured"
            )
        return next(self._cycle)

    def candidates(self) -> list[Origin]:
        """The next instance in turn, then the others: where to try a request, in order."""
        first = self.pick()
        return [first, *(origin for origin in self._origins if origin != first)]


def upstreams_from(settings: GatewaySettings) -> dict[str, Upstream]:
    def one(url: str | None) -> list[str]:
        return [url] if url else []

    return {
        "auth": Upstream("auth", one(settings.auth_url)),
        "chat": Upstream("chat", list(settings.chat_urls)),
        "video": Upstream("video", one(settings.video_url)),
        "storage": Upstream("storage", one(settings.storage_url)),
    }
