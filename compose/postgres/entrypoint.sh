#!/bin/sh
# PostgreSQL refuses a TLS key that is not owned by its user with mode 0600, and
# Docker secrets are bind mounts with the host's owner and mode: install the key
# and certificates where the server reads them, then run the image's entrypoint.
#
# `entrypoint.sh healthcheck`: a real login over TLS with verify-full against the
# deployment's CA, so a server without TLS, or with the wrong certificate, is unhealthy.
set -eu
TLS_DIR=/var/lib/postgresql/tls

if [ "${1:-}" = healthcheck ]; then
    PGPASSWORD="$(cat /run/secrets/postgres_superuser_password)" \
    PGCONNECT_TIMEOUT=3 \
    exec psql "host=localhost port=${PGPORT:-5432} user=postgres dbname=postgres sslmode=verify-full sslrootcert=/run/secrets/tls_ca_cert" \
        -tAc 'SELECT 1' >/dev/null
fi

install -d -o postgres -g postgres -m 0700 "$TLS_DIR"
install -o postgres -g postgres -m 0600 /run/secrets/tls_server_key "$TLS_DIR/server.key"
install -o postgres -g postgres -m 0644 /run/secrets/tls_server_cert "$TLS_DIR/server.crt"
install -o postgres -g postgres -m 0644 /run/secrets/tls_ca_cert "$TLS_DIR/ca.crt"
exec docker-entrypoint.sh "$@"
