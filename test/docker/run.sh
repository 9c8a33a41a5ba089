#!/usr/bin/env bash
# The Docker tier (`npm run test:docker`): the fleet under `docker compose`, then on a three-node cluster with node
# loss under load (`npm run test:cluster`), then the integration, failure-handling and chaos suites against a
# RabbitMQ 4.3 container. Needs a Docker engine; with no image registry (this project's
# CI) it builds Debian-based stand-ins first. Where a registry is reachable, WARREN_COMPOSE_REAL_IMAGES=1 runs the
# compose file's own images and RABBITMQ4_IMAGE=rabbitmq:4.3.6-management-alpine the matrix's broker.
set -euo pipefail
cd "$(dirname "$0")/../.."

docker info >/dev/null 2>&1 || { echo 'test:docker needs a Docker engine (`docker info` fails): Debian: apt-get install docker.io, then dockerd &' >&2; exit 1; }
if [ "${WARREN_COMPOSE_REAL_IMAGES:-0}" != 1 ]; then
  bash test/docker/standin-images.sh
else
  bash test/docker/standin-images.sh compose
fi

echo '== docker compose: the fleet on a Docker engine =='
npm run -s test:compose
echo '== docker compose: the quick start of docs/deploy.md, as written, in a fresh checkout =='
npm run -s test:compose-docs
echo '== docker compose: the fleet on a three-node RabbitMQ cluster and Redis under Sentinel, broken four ways =='
npm run -s test:cluster
echo '== TLS to RabbitMQ and Redis: a broker container and a redis-server of its own, a CA made by the test =='
npm run -s test:tls
npm run -s test:rabbitmq4
