"""How long the harness's HTTP clients keep an idle connection.

uvicorn, which serves every SecureConnect service and the embedded Toxiproxy's
API, closes a connection that has been idle for 5 s. httpx keeps idle
connections for 5 s too, so the two race: a request sent on a pooled connection
at the moment the server closes it fails with "Server disconnected without
sending a response", and httpx does not resend a POST. A check that then
errors proves nothing about the product. The harness's clients drop idle
connections well before any server of the stack does, so no verdict rests
on that race.
"""

from __future__ import annotations

import httpx

#: Below every server's idle timeout (uvicorn's 5 s), with room for a slow machine.
CLIENT_KEEPALIVE_EXPIRY_S = 2.0
LIMITS = httpx.Limits(keepalive_expiry=CLIENT_KEEPALIVE_EXPIRY_S)
