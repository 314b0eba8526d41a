"""A Toxiproxy client that reports addresses as the host sees them.

Inside the run's network a proxy listens on `0.0.0.0:15432` and forwards to
`postgres:5432`; from the host the same proxy is `127.0.0.1:<published port>`
in front of `127.0.0.1:<postgres's published port>`. Scenarios compare the
proxy's upstream with `endpoint(name).address` and connect to `listen`, so
this client translates both, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from harness.toxiproxy.client import ProxyInfo, ToxiproxyClient


class HostViewToxiproxy(ToxiproxyClient):
    def __init__(
        self,
        url: str,
        upstreams: Mapping[str, str],
        listens: Mapping[int, str],
        timeout_s: float = 5.0,
    ) -> None:
        """`upstreams`: in-network address -> host address; `listens`: Toxiproxy's
        container port -> host address."""
        super().__init__(url, timeout_s)
        self.upstreams = dict(upstreams)
        self.listens = dict(listens)

    def host_view(self, info: ProxyInfo) -> ProxyInfo:
        port = int(info.listen.rpartition(":")[2])
        return replace(
            info,
            upstream=self.upstreams.get(info.upstream, info.upstream),
            listen=self.listens.get(port, info.listen),
        )

    def proxies(self) -> dict[str, ProxyInfo]:
        return {name: self.host_view(info) for name, info in super().proxies().items()}

    def proxy(self, name: str) -> ProxyInfo:
        return self.host_view(super().proxy(name))

    def create_proxy(
        self, name: str, listen: str, upstream: str, enabled: bool = True
    ) -> ProxyInfo:
        return self.host_view(super().create_proxy(name, listen, upstream, enabled))

    def populate(self, proxies: Iterable[Mapping[str, object]]) -> list[ProxyInfo]:
        return [self.host_view(info) for info in super().populate(proxies)]

    def set_enabled(self, name: str, enabled: bool) -> ProxyInfo:
        return self.host_view(super().set_enabled(name, enabled))
