#!/bin/sh
# Start redis-server with `requirepass` from the redis_password secret, written to a
# 0600 file: never on a command line that `ps` shows.
# `entrypoint.sh healthcheck`: an authenticated PING.
set -eu
if [ "${1:-}" = healthcheck ]; then
    REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli -h 127.0.0.1 -p "${REDIS_PORT:-6379}" ping | grep -q PONG
    exit
fi
umask 077
conf="${TMPDIR:-/tmp}/redis-secureconnect.conf"
{
    echo "include /etc/secureconnect/redis.conf"
    printf 'requirepass "%s"\n' "$(cat /run/secrets/redis_password)"
} > "$conf"
exec redis-server "$conf" "$@"
