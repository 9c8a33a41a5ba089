#!/usr/bin/env bash
# The Kubernetes test tier's local cluster: a one-node Kubernetes run by ../shared/k8s/kube.sh under $K, for a
# machine without one (test/k8s/helm.test.ts uses KUBECONFIG's cluster instead when that is set).
#
#   test/k8s/local-cluster.sh up             binaries and certificates (each step skipped when cached under $K),
#                                            then the cluster; prints "started" (this call started it) or "reused"
#                                            (it was already running under $K: leave it running afterwards)
#   test/k8s/local-cluster.sh images IMG...  Docker images into the node's containerd (no registry)
#   test/k8s/local-cluster.sh down           stops it and removes its state; $K/bin and $K/root stay cached
#
# The kube tools (kube.sh, kube.xz) are found in $WARREN_KUBE_TOOLS, else <repo>/../shared/k8s, else /work/shared/k8s.
set -euo pipefail

K=${K:-/var/tmp/warren-k8s}
export K
REPO=$(cd "$(dirname "$0")/../.." && pwd)

tools=""
for dir in ${WARREN_KUBE_TOOLS:+"$WARREN_KUBE_TOOLS"} "$REPO/../shared/k8s" /work/shared/k8s; do
  if [ -x "$dir/kube.sh" ] && [ -f "$dir/kube.xz" ]; then tools=$(cd "$dir" && pwd); break; fi
done
if [ -z "$tools" ]; then
  echo "no Kubernetes tools (kube.sh, kube.xz): set WARREN_KUBE_TOOLS to their directory, or KUBECONFIG to a cluster" >&2
  exit 1
fi
kube() { "$tools/kube.sh" "$@"; }
log() { printf '[local-cluster %s] %s\n' "$(date -u +%T)" "$*" >&2; }

# Answers when a cluster of ours (this $K's certificates) is up.
running() {
  [ -f "$K/etc/admin.kubeconfig" ] && [ -x "$K/root/usr/bin/kubectl" ] &&
    "$K/root/usr/bin/kubectl" --kubeconfig "$K/etc/admin.kubeconfig" --request-timeout=5s get --raw /readyz >/dev/null 2>&1
}

case "${1:-}" in
  up)
    if running; then
      log "a cluster is already running under $K: using it as it is"
      echo reused
      exit 0
    fi
    # kube.sh keeps its pids in /run/k8s and its node on 10.201.0.1 whatever $K is: one cluster per machine.
    if [ -e /run/k8s/kube-apiserver.pid ] || ip link show k8s0 >/dev/null 2>&1; then
      log "a kube.sh cluster's state is on this machine (/run/k8s, bridge k8s0) but no apiserver of $K answers: if an earlier run left it, '$0 down' clears it; if it is another cluster, set KUBECONFIG to it"
      exit 1
    fi
    [ -x "$K/root/usr/bin/kubectl" ] || kube deps --runtime >&2
    [ -x "$K/bin/kube" ] || kube install-bin "$tools/kube.xz" >&2
    [ -f "$K/etc/admin.kubeconfig" ] || kube pki >&2
    if ! kube up >&2; then
      log "kube.sh up failed; stopping what it started"
      kube down --purge >&2 || true
      exit 1
    fi
    echo started
    ;;
  images)
    shift
    kube images "$@" >&2
    ;;
  down)
    kube down --purge >&2
    ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
