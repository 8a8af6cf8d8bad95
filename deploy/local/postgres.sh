#!/usr/bin/env bash
# The machine's PostgreSQL for the tests and benchmarks: `postgres.sh start` starts the newest
# installed cluster, waits until it answers and makes sure the throwaway login role `foleyeval`
# (password foleyeval, may create databases) exists. Used by ./run test and
# benchmarks/load_test.py --postgres. Exits 1 with the reason when it cannot.
set -euo pipefail

fail() { printf 'postgres.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else fail "need root (or sudo) to run: $*"; fi
}

psql_as_postgres() { as_root su postgres -c "psql -qtAc \"$1\""; }

start() {
  local version ready=0
  command -v pg_ctlcluster >/dev/null \
    || fail "PostgreSQL is not installed (Debian: apt-get install postgresql; ./run test does it)"
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  [ -n "$version" ] || fail "PostgreSQL is installed but has no cluster in /etc/postgresql"
  as_root pg_ctlcluster "$version" main start 2>/dev/null || true
  for _ in $(seq 1 40); do
    if psql_as_postgres 'select 1' >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.5
  done
  [ "$ready" = 1 ] || fail "PostgreSQL $version did not answer within 20 s (pg_lsclusters shows why)"
  psql_as_postgres "select 1 from pg_roles where rolname='foleyeval'" | grep -q 1 \
    || psql_as_postgres "create role foleyeval login createdb password 'foleyeval'" >/dev/null
}

case "${1:-}" in
  start) start ;;
  *) echo "usage: $0 start" >&2; exit 2 ;;
esac
