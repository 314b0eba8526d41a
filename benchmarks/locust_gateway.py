"""Locust users for the gateway alone: back-to-back GETs routed to the trivial backend.

No think time: each user is one closed loop, so the user count is the concurrency.
"""

from __future__ import annotations

from locust import FastHttpUser, constant, task


class GatewayUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def proxied(self) -> None:
        self.client.get("/api/v1/auth/me", name="gateway: proxied GET")
