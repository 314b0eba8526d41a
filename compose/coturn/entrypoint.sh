#!/bin/sh
# Run turnserver with static-auth-secret read from the turn_secret secret, written to
# a 0600 config file (never on the command line). Extra arguments go to turnserver.
set -eu
umask 077
conf="${TMPDIR:-/tmp}/turnserver.conf"
{
    cat /etc/secureconnect/turnserver.conf
    printf 'static-auth-secret=%s\n' "$(cat /run/secrets/turn_secret)"
} > "$conf"
exec turnserver -c "$conf" "$@"
