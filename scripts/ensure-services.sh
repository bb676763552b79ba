#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on 127.0.0.1 (5432, 6379), and MariaDB, RabbitMQ, Mosquitto and
# NATS (3306, 5672, 1883, 4222), starting them — or installing them
# from Debian's packages when run as root — and prints the variables the tests read:
#   eval "$(scripts/ensure-services.sh)"   # sets CM_TEST_DATABASE_URL, CM_TEST_REDIS_URL, CM_TEST_MYSQL_URL,
#                                          # CM_TEST_AMQP_URL, CM_TEST_MQTT_URL and CM_TEST_NATS_URL
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

# The integration nodes' tests talk to MariaDB, RabbitMQ, Mosquitto and NATS (with JetStream) on
# loopback. They are started (never installed) here when they are down; each must then answer.
tcp_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ensure_tcp() { # name port start-command…
  local name=$1 port=$2; shift 2
  if ! tcp_up "$port"; then
    say "starting $name"
    "$@" >&2 2>&1 || true
    for _ in $(seq 1 150); do tcp_up "$port" && break; sleep 0.2; done
  fi
  tcp_up "$port" || { say "$name does not answer on 127.0.0.1:$port"; exit 1; }
}
ensure_tcp MariaDB 3306 start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
ensure_tcp RabbitMQ 5672 rabbitmq-server -detached
ensure_tcp Mosquitto 1883 mosquitto -d -c /etc/mosquitto/mosquitto.conf
ensure_tcp NATS 4222 start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
# RabbitMQ opens its port before it accepts logins: wait until guest can connect.
if command -v rabbitmqctl >/dev/null 2>&1; then
  for _ in $(seq 1 150); do rabbitmqctl -q await_startup >/dev/null 2>&1 && break; sleep 0.2; done
fi

if psql -h 127.0.0.1 -U postgres -d test -qc 'select 1' >/dev/null 2>&1; then
  echo "export CM_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'"
else
  echo "export CM_TEST_DATABASE_URL='postgres://cm:cm@127.0.0.1:5432/test?sslmode=disable'"
fi
echo "export CM_TEST_REDIS_URL='redis://127.0.0.1:6379/0'"
echo "export CM_TEST_MYSQL_URL='mysql://root@127.0.0.1:3306/test'"
echo "export CM_TEST_AMQP_URL='amqp://guest:guest@127.0.0.1:5672/'"
echo "export CM_TEST_MQTT_URL='tcp://127.0.0.1:1883'"
echo "export CM_TEST_NATS_URL='nats://127.0.0.1:4222'"
