#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on 127.0.0.1 (5432, 6379), starting them — or installing them
# from Debian's packages when run as root — and prints the variables the tests read:
#   eval "$(scripts/ensure-services.sh)"   # sets CM_TEST_DATABASE_URL and CM_TEST_REDIS_URL
# Exits non-zero, saying why on stderr, when a service cannot be brought up: tests must fail, not skip.
set -u
say() { echo "ensure-services: $*" >&2; }
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

if ! pg_up; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    can_install || { say "PostgreSQL is not installed; run: sudo apt-get install -y postgresql"; exit 1; }
    say "installing PostgreSQL"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2 || { say "apt-get install postgresql failed"; exit 1; }
  fi
  say "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >&2 2>&1 || true
  for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
  pg_up || { say "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }
  su postgres -c "psql -qc \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='cm') THEN CREATE ROLE cm LOGIN SUPERUSER PASSWORD 'cm'; END IF; END\\\$\\\$\"" >&2 2>&1 || true
  su postgres -c "psql -qc 'CREATE DATABASE test OWNER cm'" >/dev/null 2>&1 || true
fi

if ! redis_up; then
  if ! command -v redis-server >/dev/null 2>&1; then
    can_install || { say "Redis is not installed; run: sudo apt-get install -y redis-server"; exit 1; }
    say "installing Redis"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) >&2 || { say "apt-get install redis-server failed"; exit 1; }
  fi
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2 2>&1 || true
  for _ in $(seq 1 50); do redis_up && break; sleep 0.2; done
  redis_up || { say "Redis does not answer on 127.0.0.1:6379"; exit 1; }
fi

if psql -h 127.0.0.1 -U postgres -d test -qc 'select 1' >/dev/null 2>&1; then
  echo "export CM_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'"
else
  echo "export CM_TEST_DATABASE_URL='postgres://cm:cm@127.0.0.1:5432/test?sslmode=disable'"
fi
echo "export CM_TEST_REDIS_URL='redis://127.0.0.1:6379/0'"
