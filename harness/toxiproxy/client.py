"""Drive a Toxiproxy: the embedded server or a real ``toxiproxy-server``.

``ToxiproxyClient`` speaks the Toxiproxy 2.x HTTP API with httpx and an
explicit timeout on every call. It does not wrap toxiproxy-python: that
client keeps one host and port for the whole process (class attributes of
``APIConsumer``), sends requests without timeouts, and cannot update a
toxic, so a hung server would hang the harness and two servers could not be
driven at once. The test suite still uses toxiproxy-python against the
embedded server, as the independent check that stock clients work with it.

Scenarios use the context managers, named after the fault they inject; each
removes its fault in a ``finally``, also when the body raises::

    with latency(client, "redis", ms=2000):
        ...
    with cut(client, "s3"):
        ...

The embedded server also counts what each proxy and toxic did (``stats`` in
their JSON): ``ProxyInfo.counters`` and ``ToxicInfo.counters`` read them, and
are None for a real ``toxiproxy-server``, which keeps no such counters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from harness.errors import FaultError
from harness.keepalive import LIMITS

Stream = Literal["upstream", "downstream"]
UPSTREAM: Stream = "upstream"  # client → server bytes
DOWNSTREAM: Stream = "downstream"  # server → client bytes

#: How often a flaky fault rolls its toxicity again for every live connection, seconds.
FLAKY_REROLL_S = 0.5

# Hosts a proxy may listen on that a client must reach through loopback.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


@dataclass(frozen=True)
class ToxicCounters:
    """What a toxic did (embedded server only): connections and its actions."""

    connections_joined: int
    #: Connections whose toxicity roll applied at least once.
    connections_applied: int
    #: Per action the type takes ("chunks_delayed", "resets_sent"...), how many times.
    actions: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: object) -> ToxicCounters | None:
        if not isinstance(data, Mapping):
            return None
        counts = {str(k): int(v) for k, v in data.items() if isinstance(v, int)}
        return cls(
            counts.pop("connections_joined", 0), counts.pop("connections_applied", 0), counts
        )


@dataclass(frozen=True)
class ProxyCounters:
    """What went through a proxy since it was created (embedded server only)."""

    connections_accepted: int = 0
    #: Live connections dropped because the proxy was disabled (cut).
    connections_cut: int = 0
    bytes_upstream: int = 0
    bytes_downstream: int = 0

    @classmethod
    def from_json(cls, data: object) -> ProxyCounters | None:
        if not isinstance(data, Mapping):
            return None
        known = ("connections_accepted", "connections_cut", "bytes_upstream", "bytes_downstream")
        return cls(**{key: int(data.get(key) or 0) for key in known})


@dataclass(frozen=True)
class ToxicInfo:
    """A toxic as the server reports it."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, Any] = field(default_factory=dict)
    counters: ToxicCounters | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ToxicInfo:
        return cls(
            name=data["name"],
            type=data["type"],
            stream=data.get("stream", DOWNSTREAM),
            toxicity=float(data.get("toxicity", 1.0)),
            attributes=dict(data.get("attributes") or {}),
            counters=ToxicCounters.from_json(data.get("stats")),
        )


@dataclass(frozen=True)
class ProxyInfo:
    """A proxy as the server reports it; ``listen`` is the bound address."""

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[ToxicInfo, ...] = ()
    counters: ProxyCounters | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProxyInfo:
        return cls(
            name=data["name"],
            listen=data["listen"],
            upstream=data["upstream"],
            enabled=bool(data["enabled"]),
            toxics=tuple(ToxicInfo.from_json(t) for t in data.get("toxics") or ()),
            counters=ProxyCounters.from_json(data.get("stats")),
        )

    @property
    def address(self) -> tuple[str, int]:
        """Where a local client connects: ``listen``, with wildcards made loopback."""
        host, _, port = self.listen.rpartition(":")
        if host in _WILDCARD_HOSTS:
            host = "127.0.0.1"
        return host.strip("[]"), int(port)


class ToxiproxyClient:
    """A typed client of one Toxiproxy API, every call bounded by ``timeout_s``."""

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s, limits=LIMITS)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ToxiproxyClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: object = None) -> Any:
        """Send one request; the decoded JSON answer, or None for 204."""
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise FaultError(f"toxiproxy {self.url}: {method} {path} failed: {exc}") from exc
        if response.status_code >= 400:
            raise FaultError(
                f"toxiproxy {method} {path}: {response.status_code} {_error_message(response)}"
            )
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    def version(self) -> str:
        answer = self._call("GET", "/version")
        # Toxiproxy answers JSON since 2.6 and plain text before.
        if isinstance(answer, Mapping):
            return str(answer.get("version", ""))
        return str(answer).strip()

    def proxies(self) -> dict[str, ProxyInfo]:
        answer = self._call("GET", "/proxies")
        return {name: ProxyInfo.from_json(data) for name, data in answer.items()}

    def proxy(self, name: str) -> ProxyInfo:
        return ProxyInfo.from_json(self._call("GET", f"/proxies/{name}"))

    def create_proxy(
        self, name: str, listen: str, upstream: str, enabled: bool = True
    ) -> ProxyInfo:
        """Create a proxy; ``listen`` "127.0.0.1:0" lets the server pick the port."""
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        return ProxyInfo.from_json(self._call("POST", "/proxies", body))

    def populate(self, proxies: Iterable[Mapping[str, object]]) -> list[ProxyInfo]:
        """Create or replace proxies given as {name, listen, upstream[, enabled]}."""
        answer = self._call("POST", "/populate", [dict(proxy) for proxy in proxies])
        return [ProxyInfo.from_json(data) for data in answer["proxies"] or ()]

    def set_enabled(self, name: str, enabled: bool) -> ProxyInfo:
        """Disabling closes the listener and drops every live connection."""
        # POST, not PATCH: every 2.x server accepts it.
        return ProxyInfo.from_json(self._call("POST", f"/proxies/{name}", {"enabled": enabled}))

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    def toxics(self, proxy: str) -> list[ToxicInfo]:
        return [ToxicInfo.from_json(t) for t in self._call("GET", f"/proxies/{proxy}/toxics")]

    def toxic(self, proxy: str, name: str) -> ToxicInfo:
        return ToxicInfo.from_json(self._call("GET", f"/proxies/{proxy}/toxics/{name}"))

    def add_toxic(
        self,
        proxy: str,
        type: str,
        stream: Stream = DOWNSTREAM,
        toxicity: float = 1.0,
        name: str | None = None,
        **attributes: int,
    ) -> ToxicInfo:
        """Add a toxic; its name defaults to "<type>_<stream>" as in Toxiproxy."""
        body = {
            "name": name or f"{type}_{stream}",
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attributes,
        }
        return ToxicInfo.from_json(self._call("POST", f"/proxies/{proxy}/toxics", body))

    def update_toxic(
        self, proxy: str, name: str, toxicity: float | None = None, **attributes: int
    ) -> ToxicInfo:
        """Change a toxic in place; live connections follow the new values."""
        body: dict[str, object] = {"attributes": attributes}
        if toxicity is not None:
            body["toxicity"] = toxicity
        return ToxicInfo.from_json(self._call("POST", f"/proxies/{proxy}/toxics/{name}", body))

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def reset(self) -> None:
        """Re-enable every proxy and remove every toxic."""
        self._call("POST", "/reset")


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()
    if isinstance(body, Mapping) and "error" in body:
        return str(body["error"])
    return response.text.strip()


@contextmanager
def cut(client: ToxiproxyClient, proxy: str) -> Iterator[ProxyInfo]:
    """The proxy refuses and drops connections until the block ends."""
    info = client.set_enabled(proxy, False)
    try:
        yield info
    finally:
        client.set_enabled(proxy, True)


@contextmanager
def toxic(
    client: ToxiproxyClient,
    proxy: str,
    type: str,
    stream: Stream = DOWNSTREAM,
    toxicity: float = 1.0,
    **attributes: int,
) -> Iterator[ToxicInfo]:
    """Any toxic for the duration of the block."""
    # The name goes positionally so type checkers know **attributes cannot bind it.
    added = client.add_toxic(proxy, type, stream, toxicity, None, **attributes)
    try:
        yield added
    finally:
        client.remove_toxic(proxy, added.name)


@contextmanager
def latency(
    client: ToxiproxyClient, proxy: str, ms: int, jitter_ms: int = 0, stream: Stream = DOWNSTREAM
) -> Iterator[ToxicInfo]:
    """Every chunk of the stream arrives ``ms`` (± ``jitter_ms``) late."""
    with toxic(client, proxy, "latency", stream, latency=ms, jitter=jitter_ms) as added:
        yield added


@contextmanager
def flaky(
    client: ToxiproxyClient,
    proxy: str,
    toxicity: float,
    stream: Stream = DOWNSTREAM,
    timeout_ms: int = 0,
    reroll_s: float = FLAKY_REROLL_S,
) -> Iterator[ToxicInfo]:
    """That share of connections is reset (TCP RST) once data flows, kept-alive ones too.

    Toxiproxy rolls a toxic's toxicity once per connection, when it joins the
    toxic: a pool of kept-alive connections that all rolled "spared" would go
    through the whole window untouched. Updating a toxic runs it again on every
    live connection, which rolls again; so while the block runs, a thread
    updates the toxic (same settings) every ``reroll_s`` seconds, and each
    connection, new or kept alive, gets a fresh ``toxicity`` chance each time.
    The period is kept above ``timeout_ms``, since an update also disarms a
    reset that is waiting for its timeout.
    """
    with toxic(client, proxy, "reset_peer", stream, toxicity=toxicity, timeout=timeout_ms) as added:
        period_s = max(reroll_s, 2 * timeout_ms / 1000)
        with _rerolling(client.url, proxy, added.name, toxicity, period_s):
            yield added


@contextmanager
def _rerolling(url: str, proxy: str, name: str, toxicity: float, period_s: float) -> Iterator[None]:
    """Update the toxic every ``period_s`` seconds until the block ends."""
    done = threading.Event()

    def reroll() -> None:
        # A client of its own: httpx clients are not meant to be shared across threads.
        with ToxiproxyClient(url) as own:
            while not done.wait(period_s):
                try:
                    own.update_toxic(proxy, name, toxicity=toxicity)
                except FaultError:
                    return  # removed under us (a reset): nothing left to roll

    thread = threading.Thread(target=reroll, name=f"reroll-{proxy}-{name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=10)


@contextmanager
def throttle(
    client: ToxiproxyClient, proxy: str, kbps: int, stream: Stream = DOWNSTREAM
) -> Iterator[ToxicInfo]:
    """The stream carries at most ``kbps`` kilobytes (1000 bytes) per second."""
    with toxic(client, proxy, "bandwidth", stream, rate=kbps) as added:
        yield added


@contextmanager
def half_open(
    client: ToxiproxyClient, proxy: str, stream: Stream = DOWNSTREAM
) -> Iterator[ToxicInfo]:
    """Connections stay open but the stream goes silent (data is dropped).

    When the block ends the toxic is removed; connections it stalled are
    closed, as Toxiproxy does, and new connections work again.
    """
    with toxic(client, proxy, "timeout", stream, timeout=0) as added:
        yield added
