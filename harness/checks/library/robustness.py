"""What the robustness checks share: the users hostile clients act as, and whether
the stack is still healthy once they are done."""

from __future__ import annotations

import time

from harness.checks.steady import ready_state
from harness.clients.api import ApiClient, Session
from harness.platform.base import Platform, services_of

#: How long services may take to be `ok` again after a campaign.
HEALTH_DEADLINE_S = 30.0
HEALTH_POLL_S = 0.5


class FreshSession:
    """A logged-in user whose session outlives its own logout: a campaign that
    fuzzes the logout route logs the user in again before the next operation."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self.session: Session = api.new_session()
        self.renewals = 0

    def headers(self) -> dict[str, str]:
        return self.session.headers

    def renew_if_revoked(self) -> None:
        if self.api.me(self.session.access_token).status_code != 401:
            return
        answer = self.api.login(self.session.email, self.session.password)
        assert answer.status_code == 200, f"login again answered {answer.status_code}"
        tokens = answer.json()
        self.session.access_token = tokens["access_token"]
        self.session.refresh_token = tokens["refresh_token"]
        self.renewals += 1


def health_problems(platform: Platform) -> list[str]:
    """Every component passes its probe and every service is `ok` within the deadline;
    what is not, once the deadline passed."""
    deadline = time.monotonic() + HEALTH_DEADLINE_S
    while True:
        problems = _problems(platform)
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(HEALTH_POLL_S)


def _problems(platform: Platform) -> list[str]:
    problems = []
    for component in platform.names():
        try:
            platform.probe(component)
        except Exception as exc:  # any probe failure is a finding here
            problems.append(f"{component}: {type(exc).__name__}: {exc}"[:200])
    for name in services_of(platform):
        url = platform.endpoint(name).url
        state = ready_state(url) if url else "no URL"
        if state != "ok":
            problems.append(f"{name}: /ready {state}")
    return problems
