#!/usr/bin/env bash
# Makes a development CA and the certificates compose's TLS override needs (deploy/tls/docker-compose.tls.yml):
#   ca.crt                     the CA every client and server trusts (and nothing else)
#   server.crt / server.key    RabbitMQ's and Redis' certificate: DNS rabbitmq, redis, localhost; IP 127.0.0.1
#   client.crt / client.key    the services' client certificate (both servers require one from this CA)
# Usage: deploy/tls/make-dev-certs.sh [dir]   (default deploy/tls/dev, which .gitignore keeps out of git)
# Development only: the keys are readable by every user so the containers' own users (rabbitmq, redis, uid 1000)
# can read them from a bind mount. In production use your PKI (cert-manager, Vault) and the chart's tls values.
set -euo pipefail
DIR=${1:-"$(dirname "$0")/dev"}
mkdir -p "$DIR"
cd "$DIR"
DAYS=${DAYS:-365}
key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1"; }

key ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$DAYS" -subj '/CN=Warren dev CA' -out ca.crt
issue() { # name, subject, extensions
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  printf '%b' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$DAYS" -sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
issue server '/CN=warren-dev-server' 'subjectAltName=DNS:rabbitmq,DNS:redis,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
issue client '/CN=warren-dev-client' 'extendedKeyUsage=clientAuth\n'
chmod 644 ./*.crt server.key client.key
chmod 600 ca.key
echo "make-dev-certs: wrote $(pwd)/{ca,server,client}.crt and their keys (valid ${DAYS} days)"
