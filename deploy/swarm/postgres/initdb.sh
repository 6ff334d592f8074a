#!/bin/sh
# First start of the stack's Postgres (docker-entrypoint-initdb.d, as POSTGRES_USER on
# POSTGRES_DB): create the Yellow merge database and the platform logins of the model
# credentials mounted under /run/secrets/datasurface (spec/model.md §4.16 file store layout).
# A *_MERGE credential gets a login that may create schemas in ds_merge; a *_SECURITY credential
# a login with CREATEROLE (the security service's). Re-run by hand after adding credentials.
set -eu
creds=/run/secrets/datasurface

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
SELECT 'CREATE DATABASE ds_merge' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ds_merge')\gexec
SQL

for dir in "$creds"/*/; do
  [ -f "$dir/user" ] && [ -f "$dir/password" ] || continue
  name=$(basename "$dir")
  case "$name" in
    *_SECURITY) attrs="LOGIN CREATEROLE" ;;
    *) attrs="LOGIN" ;;
  esac
  # psql variables quote the login and password (:"…" identifiers, :'…' literals).
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname ds_merge \
    -v login="$(cat "$dir/user")" -v password="$(cat "$dir/password")" -v attrs="$attrs" <<'SQL'
SELECT format('CREATE ROLE %I', :'login') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'login')\gexec
ALTER ROLE :"login" WITH :attrs PASSWORD :'password';
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ds_merge TO :"login";
SQL
done
