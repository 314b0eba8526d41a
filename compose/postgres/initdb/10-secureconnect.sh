# Sourced by the image's entrypoint on the first start only: the application's role
# (password from its secret file) and its database. Migrations create the tables.
set -e
app_password="$(cat /run/secrets/db_password)"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres --set=pw="$app_password" <<'SQL'
CREATE ROLE secureconnect LOGIN PASSWORD :'pw';
CREATE DATABASE secureconnect OWNER secureconnect;
SQL
unset app_password
