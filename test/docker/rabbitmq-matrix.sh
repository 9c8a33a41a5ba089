#!/usr/bin/env bash
# The newest leg of the RabbitMQ matrix: the integration and chaos suites and the broker-restart test against a
# RabbitMQ 4.3 container of this run's own, while everything else keeps using the host's broker. The oldest leg,
# 3.10, is `npm test` itself (the host broker); docs/rabbitmq-versions.md has the matrix. Redis stays the host's
# 127.0.0.1:6379 (every suite uses key prefixes of its own). Needs `npm run build` first (process fleets run dist/):
# `npm run test:rabbitmq4`.
#
#   RABBITMQ4_IMAGE   image to run (default warren-standin/rabbitmq:4.3, Debian sid's 4.3, from
#                     test/docker/standin-images.sh; with a registry e.g. rabbitmq:4.3.6-management-alpine, or any
#                     other 4.x to check a version between the two)
#   extra arguments   passed to mocha (e.g. --grep restart)
#
# The container is named warren-test-rabbitmq-matrix-*, publishes 5672 on a free 127.0.0.1 port only, and is
# removed on every exit: success, failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE=${RABBITMQ4_IMAGE:-warren-standin/rabbitmq:4.3}
NAME=warren-test-rabbitmq-matrix-$$
STARTUP_TIMEOUT_S=${RABBITMQ4_STARTUP_TIMEOUT_S:-240}

BROKER_LOG=${TMPDIR:-/tmp}/$NAME.log

# Keeps the broker's log (its warnings are how a version difference shows first), then removes the container.
cleanup() {
  if docker logs "$NAME" >"$BROKER_LOG" 2>&1; then
    echo "== broker log: $BROKER_LOG ($(grep -c '\[warning\]' "$BROKER_LOG" || true) warnings, $(grep -c '\[error\]' "$BROKER_LOG" || true) errors; deprecations below) =="
    # Without colours, timestamps and process ids, so that repeats collapse into one counted line.
    grep -i 'deprecat' "$BROKER_LOG" | sed -E 's/\x1b\[[0-9;]*m//g; s/^[0-9-]+ [0-9:.+]+ //; s/<[0-9.]+> //' | sort | uniq -c | head -n 20 || true
  fi
  docker rm -f "$NAME" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

docker image inspect "$IMAGE" >/dev/null 2>&1 || { echo "rabbitmq-matrix: no image $IMAGE (build it: test/docker/standin-images.sh rabbitmq)" >&2; exit 2; }
docker run -d --name "$NAME" -p 127.0.0.1::5672 "$IMAGE" >/dev/null
PORT=$(docker port "$NAME" 5672/tcp | sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' | head -n 1)
[ -n "$PORT" ] || { echo "rabbitmq-matrix: $NAME publishes 5672 on no 127.0.0.1 port" >&2; exit 1; }

# Up means the RabbitMQ application answers, not only a running container (docker's proxy accepts at once).
deadline=$((SECONDS + STARTUP_TIMEOUT_S))
until docker exec "$NAME" rabbitmqctl -q await_startup >/dev/null 2>&1; do
  if [ "$(docker inspect -f '{{.State.Running}}' "$NAME")" != true ] || ((SECONDS > deadline)); then
    echo "rabbitmq-matrix: $IMAGE did not start within ${STARTUP_TIMEOUT_S} s; its last log lines:" >&2
    docker logs --tail 40 "$NAME" >&2 || true
    exit 1
  fi
  sleep 2
done
VERSION=$(docker exec "$NAME" rabbitmqctl -q version | tr -d '\r')

echo "== RabbitMQ $VERSION (container $IMAGE) =="
export AMQP_URL="amqp://guest:guest@127.0.0.1:$PORT"
export WARREN_TEST_RABBITMQCTL="docker exec $NAME rabbitmqctl"
export WARREN_TEST_BROKER_CONTAINER=$NAME
status=0
start=$SECONDS
npx mocha 'test/integration/**/*.test.ts' 'test/chaos/**/*.test.ts' test/docker/broker-restart.test.ts "$@" || status=$?
echo "== RabbitMQ $VERSION (container $IMAGE): $([ "$status" -eq 0 ] && echo passed || echo "FAILED (mocha exit $status)") in $((SECONDS - start)) s =="
exit "$status"
