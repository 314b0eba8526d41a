"""The proxies by name, and every change the API can make to them.

Each change is validated completely before anything is touched, runs under
one lock so concurrent requests cannot interleave half-applied changes, and
logs one line, so a run's server log reads as the list of faults injected.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from harness.toxiproxy.server.errors import (
    MISSING_FIELD,
    PROXY_EXISTS,
    PROXY_NOT_FOUND,
    TOXIC_EXISTS,
    TOXIC_NOT_FOUND,
    ApiError,
    bad_request,
)
from harness.toxiproxy.server.proxy import Proxy, split_address
from harness.toxiproxy.server.toxics import Toxic, parse_toxic, updated_toxic

log = logging.getLogger("harness.toxiproxy.server")

# Toxiproxy would listen on every interface when "listen" is empty; the
# embedded server is a local test tool, so it stays on loopback.
DEFAULT_LISTEN = "127.0.0.1:0"


@dataclass(frozen=True)
class ProxySpec:
    name: str
    listen: str
    upstream: str
    enabled: bool


def parse_proxy(body: object, where: str = "") -> ProxySpec:
    """Validate a proxy from POST /proxies (or one item of /populate)."""
    if not isinstance(body, Mapping):
        raise bad_request(f"expected a JSON object{where}")
    name = _string(body, "name")
    upstream = _string(body, "upstream")
    if not name:
        raise ApiError(400, f"{MISSING_FIELD}: name{where}")
    if not upstream:
        raise ApiError(400, f"{MISSING_FIELD}: upstream{where}")
    return ProxySpec(
        name=name,
        listen=_address(body, "listen", _string(body, "listen") or DEFAULT_LISTEN),
        upstream=_address(body, "upstream", upstream),
        enabled=_boolean(body, "enabled", True),
    )


def _string(body: Mapping[str, object], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad_request(f"field {key!r} must be a string, got {value!r}")
    return value


def _boolean(body: Mapping[str, object], key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_request(f"field {key!r} must be a boolean, got {value!r}")
    return value


def _address(body: Mapping[str, object], key: str, value: str) -> str:
    try:
        split_address(value)
    except ValueError as exc:
        raise bad_request(f"field {key!r}: {exc}") from exc
    return value


class ProxyCollection:
    """All proxies of one server."""

    def __init__(self) -> None:
        self.proxies: dict[str, Proxy] = {}
        self._lock = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise ApiError(404, PROXY_NOT_FOUND)
        return proxy

    async def create(self, spec: ProxySpec) -> Proxy:
        async with self._lock:
            if spec.name in self.proxies:
                raise ApiError(409, PROXY_EXISTS)
            return await self._add(spec)

    async def _add(self, spec: ProxySpec) -> Proxy:
        proxy = Proxy(spec.name, spec.listen, spec.upstream)
        if spec.enabled:
            await proxy.start()
        self.proxies[spec.name] = proxy
        log.info(
            "proxy created name=%s listen=%s upstream=%s enabled=%s",
            proxy.name,
            proxy.listen,
            proxy.upstream,
            proxy.enabled,
        )
        return proxy

    async def populate(self, body: object) -> list[Proxy]:
        """Create or replace each proxy in the list, as Toxiproxy's /populate."""
        if not isinstance(body, list):
            raise bad_request("expected a JSON list of proxies")
        specs = [parse_proxy(item, f" at proxy {i + 1}") for i, item in enumerate(body)]
        names = [spec.name for spec in specs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise bad_request(f"duplicate proxy name {duplicates[0]!r}")
        async with self._lock:
            return [await self._add_or_replace(spec) for spec in specs]

    async def _add_or_replace(self, spec: ProxySpec) -> Proxy:
        existing = self.proxies.get(spec.name)
        if existing is not None:
            if existing.listen == spec.listen and existing.upstream == spec.upstream:
                return existing
            await self._remove(existing)
        return await self._add(spec)

    async def update(self, name: str, body: object) -> Proxy:
        if not isinstance(body, Mapping):
            raise bad_request("expected a JSON object")
        async with self._lock:
            proxy = self.get(name)
            listen = _address(body, "listen", _string(body, "listen") or proxy.listen)
            upstream = _address(body, "upstream", _string(body, "upstream") or proxy.upstream)
            enabled = _boolean(body, "enabled", proxy.enabled)
            await proxy.update(listen, upstream, enabled)
            log.info(
                "proxy updated name=%s listen=%s upstream=%s enabled=%s",
                proxy.name,
                proxy.listen,
                proxy.upstream,
                proxy.enabled,
            )
            return proxy

    async def delete(self, name: str) -> None:
        async with self._lock:
            await self._remove(self.get(name))

    async def _remove(self, proxy: Proxy) -> None:
        await proxy.stop()
        del self.proxies[proxy.name]
        log.info("proxy deleted name=%s", proxy.name)

    async def reset(self) -> None:
        """Re-enable every proxy and remove every toxic."""
        async with self._lock:
            removed = 0
            for proxy in self.proxies.values():
                await proxy.start()
                for toxic_name in list(proxy.toxics):
                    proxy.remove_toxic(toxic_name)
                    removed += 1
            log.info("reset proxies=%d toxics_removed=%d", len(self.proxies), removed)

    async def close(self) -> None:
        async with self._lock:
            for proxy in self.proxies.values():
                await proxy.stop()

    def get_toxic(self, proxy_name: str, toxic_name: str) -> Toxic:
        toxic = self.get(proxy_name).toxics.get(toxic_name)
        if toxic is None:
            raise ApiError(404, TOXIC_NOT_FOUND)
        return toxic

    def add_toxic(self, proxy_name: str, body: object) -> Toxic:
        proxy = self.get(proxy_name)
        toxic = parse_toxic(body)
        if toxic.name in proxy.toxics:
            raise ApiError(409, TOXIC_EXISTS)
        proxy.add_toxic(toxic)
        _log_toxic("added", proxy, toxic)
        return toxic

    def update_toxic(self, proxy_name: str, toxic_name: str, body: object) -> Toxic:
        toxic = updated_toxic(self.get_toxic(proxy_name, toxic_name), body)
        proxy = self.get(proxy_name)
        proxy.update_toxic(toxic)
        _log_toxic("updated", proxy, toxic)
        return toxic

    def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        toxic = self.get_toxic(proxy_name, toxic_name)
        proxy = self.get(proxy_name)
        proxy.remove_toxic(toxic_name)
        _log_toxic("removed", proxy, toxic)


def _log_toxic(change: str, proxy: Proxy, toxic: Toxic) -> None:
    log.info(
        "toxic %s proxy=%s name=%s type=%s stream=%s toxicity=%s attributes=%s",
        change,
        proxy.name,
        toxic.name,
        toxic.type,
        toxic.stream,
        toxic.toxicity,
        toxic.attributes,
    )
