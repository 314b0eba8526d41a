#!/bin/sh
# A TURN Allocate and a relayed round trip with REST credentials derived from the
# real secret: turnutils_uclient -W computes the username `expiry:user` and the
# password base64(HMAC-SHA1(secret, username)) exactly as the video service does.
# A server that rejects the secret fails this check; test:test is never used.
# It dials the container's own address: coturn refuses loopback peers, rightly.
set -eu
address="$(hostname -i 2>/dev/null | cut -d' ' -f1)"
exec timeout 9 turnutils_uclient -p "${TURN_PORT:-3478}" -W "$(cat /run/secrets/turn_secret)" \
    -u healthcheck -y -c -n 1 -m 1 -l 32 "${address:-127.0.0.1}" >/dev/null
