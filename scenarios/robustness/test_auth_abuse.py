"""Hypothesis: strangers cannot abuse the auth flows, and a session ends everywhere.

Steady state: registered users; the harness's own clients log in freely.
Abuse, each from a stranger's own loopback address: a socket kept open past logout
(ROB-004); password guessing against one account and across accounts (ROB-005);
mass registration (ROB-006); tokens signed with the real key whose claims have the
wrong type or an impossible time (ROB-010).
Expectations: every socket of the session closes at once, on every chat instance,
and hears nothing more; guessing gets 429 per account and per address, but the
owner's device still logs in; registration gets 429 within REGISTRATION_CEILING
attempts; every malformed-claim token is 401 at every service.
"""

from __future__ import annotations

import itertools
import secrets
import time

from harness import (
    STRONG_PASSWORD,
    ApiClient,
    Chat,
    EventListener,
    EvidenceLog,
    Platform,
    check,
    require_components,
)
from harness.checks import auth_abuse

#: A socket of a revoked session must be closed by then, seconds (the bus is immediate;
#: the product's revocation recheck is its backstop, not the expectation).
CLOSE_DEADLINE_S = 5.0
CLOSE_UNAUTHORIZED = 4401
#: Wrong passwords a stranger may try on one account before being refused.
ACCOUNT_GUESSES_CAP = 20
#: Failed logins across accounts one address may make before being refused.
ADDRESS_GUESSES_CAP = 60
#: Registrations one address may attempt before being refused: beyond this it is a bot,
#: whatever NAT it is behind.
REGISTRATION_CEILING = 100
#: Per-address throttles need a stranger's own address: behind Docker's published ports
#: every client is one address to the product.
PER_ADDRESS_BACKENDS = ("local",)
#: One authenticated read per service, for the token checks.
READS = {
    "auth": "/api/v1/auth/me",
    "chat": "/api/v1/conversations",
    "storage": "/api/v1/files",
    "video": "/api/v1/calls/turn-credentials",
}


@check(
    "ROB-004",
    "Logout closes the session's open sockets on every chat instance at once",
    category="robustness",
    severity="HIGH",
    finding="Hostile clients: a /ws socket opened before logout kept delivering messages "
    "until its token expired",
    fix="On logout and on refresh-token reuse, publish the revoked session on the event bus "
    "(chat's internal route while Redis is away); every chat instance closes its sockets "
    "of it with 4401.",
    impact="A logged-out (or stolen, then revoked) session keeps receiving the user's messages "
    "for up to the token's lifetime: logout does not end access.",
)
def test_logout_closes_every_socket(
    stack: Platform, api: ApiClient, gateway_url: str, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "auth", "chat")
    user, peer = api.new_session(), api.new_session()
    chat = Chat(api, peer)
    conversation = chat.conversation(user)
    places = {n: stack.endpoint(n).url or "" for n in stack.names() if n.startswith("chat")}
    places["gateway"] = gateway_url
    listeners = {name: EventListener(url, user.access_token) for name, url in places.items()}
    try:
        for listener in listeners.values():  # registered: no event for the user is missed
            listener.wait_for(lambda e: e["type"] == "ready")
        before = f"before-{secrets.token_hex(4)}"
        chat.send(conversation, before)
        for listener in listeners.values():
            listener.wait_for(lambda e: e["data"].get("content") == before)
        assert api.logout(user).status_code == 204, "logout failed"
        started = time.monotonic()
        closes = {name: lis.wait_closed(CLOSE_DEADLINE_S) for name, lis in listeners.items()}
        evidence.number("sockets closed after", time.monotonic() - started, "s")
        after = f"after-{secrets.token_hex(4)}"
        chat.send(conversation, after)
    finally:
        for listener in listeners.values():
            listener.close()
    heard = [n for n, lis in listeners.items() if _heard(lis, after)]
    evidence.table(
        "each socket after logout",
        ("socket at", "close code", "reason", "heard a later message"),
        [[n, *(c or ("still open", "")), str(n in heard)] for n, c in closes.items()],
    )
    still_open = [n for n, c in closes.items() if c is None]
    assert not still_open, f"open {CLOSE_DEADLINE_S}s after logout: {', '.join(still_open)}"
    assert not heard, f"messages delivered after logout at {', '.join(heard)}"
    wrong = {n: c for n, c in closes.items() if c is not None and c[0] != CLOSE_UNAUTHORIZED}
    assert not wrong, f"closed without 4401: {wrong}"


def _heard(listener: EventListener, content: str) -> bool:
    while not listener.events.empty():
        listener.seen.append(listener.events.get_nowait())
    return any(e.get("data", {}).get("content") == content for e in listener.seen)


@check(
    "ROB-005",
    "Password guessing is throttled per account and per address, and never locks the "
    "owner's own device out",
    category="robustness",
    severity="HIGH",
    finding="Hostile clients: five wrong passwords locked the account for ~13 minutes, "
    "the right password included: anyone who knows an address could lock its owner out",
    fix="Count failures per address and, for clients without the account's device token, "
    "per account with a doubling backoff; a login with the owner's device token is judged "
    "by that device's own failures only (auth/throttle.py).",
    impact="Anyone who knows a user's e-mail address can lock them out of their account at "
    "will; or, without throttling, guess passwords at full speed.",
    backends=PER_ADDRESS_BACKENDS,
)
def test_guessing_is_throttled_but_the_owner_gets_in(
    stack: Platform, api: ApiClient, gateway_url: str, evidence: EvidenceLog
) -> None:
    owner = api.new_session()
    device_token = api.login(owner.email).json().get("device_token")
    guesses = itertools.repeat({"email": owner.email, "password": auth_abuse.WRONG_PASSWORD})
    with auth_abuse.stranger(gateway_url) as guesser:
        on_account = auth_abuse.until_refused(
            guesser, auth_abuse.LOGIN, guesses, ACCOUNT_GUESSES_CAP
        )
        right_but_stranger = guesser.post(
            auth_abuse.LOGIN, json={"email": owner.email, "password": STRONG_PASSWORD}
        )
    evidence.note("a stranger guessing one account's password", on_account.summary())
    evidence.note("then the right password from the stranger", str(right_but_stranger.status_code))
    own_device = api.http.post(
        auth_abuse.LOGIN,
        json={"email": owner.email, "password": STRONG_PASSWORD, "device_token": device_token},
    )
    evidence.note("the owner, from their device, right after", str(own_device.status_code))
    sprayed = (
        {"email": f"nobody-{i}@example.com", "password": auth_abuse.WRONG_PASSWORD}
        for i in itertools.count()
    )
    with auth_abuse.stranger(gateway_url) as sprayer:
        across = auth_abuse.until_refused(sprayer, auth_abuse.LOGIN, sprayed, ADDRESS_GUESSES_CAP)
    evidence.note("a stranger guessing across accounts", across.summary())
    assert device_token, "login returned no device token: the owner cannot be told apart"
    assert on_account.first(429), f"{ACCOUNT_GUESSES_CAP} wrong passwords on one account, no 429"
    assert own_device.status_code == 200, (
        f"the owner's own device was refused ({own_device.status_code}) after a stranger's guesses"
    )
    assert across.first(429), f"{ADDRESS_GUESSES_CAP} failed logins from one address, no 429"


@check(
    "ROB-006",
    "Registration is throttled per address",
    category="robustness",
    severity="MEDIUM",
    finding="Hostile clients: registration was not throttled (30 of 30 from one address, "
    "each sending a mail)",
    fix="Count registration attempts per client address before doing anything else "
    "(no hash, no mail); 429 with Retry-After beyond registrations_per_address.",
    impact="One client can create accounts in bulk and make the service mail any address "
    "over and over: spam, mail-reputation damage and a cheap way to load the database.",
    backends=PER_ADDRESS_BACKENDS,
)
def test_registration_is_throttled(
    stack: Platform, api: ApiClient, gateway_url: str, evidence: EvidenceLog
) -> None:
    attempts = (
        {
            "email": f"bulk-{secrets.token_hex(6)}@example.com",
            "password": auth_abuse.WEAK_PASSWORD,
            "display_name": "bulk",
        }
        for _ in itertools.count()
    )
    with auth_abuse.stranger(gateway_url) as bot:
        made = auth_abuse.until_refused(bot, auth_abuse.REGISTER, attempts, REGISTRATION_CEILING)
    evidence.note("registrations from one address", made.summary())
    evidence.note("Retry-After on the refusal", made.retry_after[-1] or "none")
    harness_own = api.register()
    evidence.note("meanwhile, another address registers", str(harness_own.status_code))
    assert made.first(429), f"{REGISTRATION_CEILING} registrations from one address, no 429"
    assert made.retry_after[-1], "the refusal has no Retry-After"
    assert harness_own.status_code == 201, "the throttle refused another address too"


@check(
    "ROB-010",
    "Tokens with claims of the wrong type, a future iat or a malformed subject are 401 "
    "at every service",
    category="robustness",
    severity="HIGH",
    finding="Hostile clients: with the signing key, iat in the future and exp as a string "
    "were accepted; a non-UUID sub gave 500",
    fix="Verify claim types where tokens are decoded (common/tokens.py): numeric exp and "
    "iat, iat at most a small leeway ahead, sub a user id; 401 otherwise.",
    impact="A token minted by a buggy or compromised issuer with far-future times is "
    "accepted for longer than any policy allows, and malformed subjects crash requests.",
)
def test_malformed_claims_are_refused(
    stack: Platform, api: ApiClient, evidence: EvidenceLog
) -> None:
    user = api.new_session()
    key = stack.secret("jwt_secret")
    now = int(time.time())
    cases = {
        "well-formed (control)": {},
        "exp a string": {"exp": str(now + 300)},
        "iat a string": {"iat": str(now)},
        "iat an hour ahead": {"iat": now + 3600, "exp": now + 7200},
        "sub not a user id": {"sub": "not-a-user-id"},
        "sub a number": {"sub": 42},
    }
    reads = {s: path for s, path in READS.items() if any(n.startswith(s) for n in stack.names())}
    rows, problems = [], []
    for name, claims in cases.items():
        token = auth_abuse.forged_token(key, **{"sub": user.user_id, **claims})
        for service, path in reads.items():
            status = api.http.get(path, headers={"Authorization": f"Bearer {token}"}).status_code
            rows.append([name, service, str(status)])
            expected = 200 if not claims else 401
            if status != expected:
                problems.append(f"{name} at {service}: {status}, expected {expected}")
    evidence.table("forged claims × service → status", ("claims", "service", "status"), rows)
    assert not problems, "; ".join(problems)
