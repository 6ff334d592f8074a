#!/bin/sh
# First start of the in-cluster Postgres (docker-entrypoint-initdb.d, as POSTGRES_USER): create
# the Yellow merge database ds_merge and a login for every model credential in the environment
# (env credential store, spec/model.md §4.16: <NAME>_USER and <NAME>_PASSWORD from the Secret
# datasurface-credentials). <NAME> ending in _SECURITY gets CREATEROLE (the security service's
# login). Source credentials get logins too, which is what a dev setup wants.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
SELECT 'CREATE DATABASE ds_merge' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ds_merge')\gexec
SQL
env | sed -n 's/^\([A-Z][A-Z0-9_]*\)_USER=.*/\1/p' | while read -r name; do
  user=$(printenv "${name}_USER")
  password=$(printenv "${name}_PASSWORD" || true)
  [ -n "$password" ] || continue
  [ "$name" = POSTGRES ] && continue
  case "$name" in
    *_SECURITY) attrs="LOGIN CREATEROLE" ;;
    *) attrs="LOGIN" ;;
  esac
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname ds_merge \
    -v login="$user" -v password="$password" -v attrs="$attrs" <<'SQL'
SELECT format('CREATE ROLE %I', :'login') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'login')\gexec
ALTER ROLE :"login" WITH :attrs PASSWORD :'password';
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ds_merge TO :"login";
SQL
done
