#!/bin/sh
# A TURN Allocate and a relayed round trip with REST credentials derived from the
# real secret: turnutils_uclient -W computes the username `expiry:user` and the
# password base64(HMAC-SHA1(secret, username)) exactly as the video service does.
# A server that rejects the secret fails this check; test:test is never used.
# It dials the container's own address: coturn refuses loopback peers, rightly.
#
# Over TCP (-t), so the allocation dies with the connection when the check ends. Over
# UDP nothing releases it: every run held one of the 41 relay ports for the
# allocation's 10 minute lifetime, ~20 of them at a 30 s interval, and calls then
# got "508 Cannot create socket". The relay itself is still UDP.
#
# TURN_SECRET_FILE and TURN_HOST exist for the harness's test of this script.
set -eu
address="${TURN_HOST:-$(hostname -i 2>/dev/null | cut -d' ' -f1)}"
secret_file="${TURN_SECRET_FILE:-/run/secrets/turn_secret}"
exec timeout 9 turnutils_uclient -t -p "${TURN_PORT:-3478}" -W "$(cat "$secret_file")" \
    -u healthcheck -y -c -n 1 -m 1 -l 32 "${address:-127.0.0.1}" >/dev/null
