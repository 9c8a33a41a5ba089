#!/usr/bin/env bash
# Helm cannot read files outside a chart, so the chart ships copies of the canonical files:
#   deploy/grafana/dashboards/*.json           -> deploy/helm/warren/files/dashboards/
#   deploy/prometheus/rules/*.yml|*.yaml       -> deploy/helm/warren/files/rules/
#   deploy/rabbitmq/definitions.template.json  -> deploy/helm/warren/files/rabbitmq/
# Edit the canonical files, then run this script. test/deploy/chart-files.test.ts fails while the copies differ.
# Usage: deploy/scripts/sync-chart-files.sh [--check]   (--check: change nothing, exit 1 if out of sync)
set -euo pipefail
shopt -s nullglob

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHART="${ROOT}/deploy/helm/warren/files"
check=false
[[ "${1:-}" == "--check" ]] && check=true

# pairs of "source-dir|glob|target-dir"
PAIRS=(
  "${ROOT}/deploy/grafana/dashboards|*.json|${CHART}/dashboards"
  "${ROOT}/deploy/prometheus/rules|*.yml *.yaml|${CHART}/rules"
  "${ROOT}/deploy/rabbitmq|definitions.template.json|${CHART}/rabbitmq"
)

status=0
for pair in "${PAIRS[@]}"; do
  IFS='|' read -r src globs dst <<<"${pair}"
  IFS=' ' read -r -a patterns <<<"${globs}"
  mkdir -p "${dst}"
  wanted=()
  for glob in "${patterns[@]}"; do
    for file in "${src}"/${glob}; do wanted+=("$(basename "${file}")"); done
  done
  for name in "${wanted[@]}"; do
    if ! cmp -s "${src}/${name}" "${dst}/${name}"; then
      if ${check}; then echo "out of sync: ${dst#"${ROOT}/"}/${name}"; status=1; else cp "${src}/${name}" "${dst}/${name}"; echo "copied ${name}"; fi
    fi
  done
  # Remove copies whose canonical file is gone.
  for glob in "${patterns[@]}"; do
    for file in "${dst}"/${glob}; do
      name="$(basename "${file}")"
      if [[ ! -e "${src}/${name}" ]]; then
        if ${check}; then echo "stale copy: ${dst#"${ROOT}/"}/${name}"; status=1; else rm "${file}"; echo "removed ${name}"; fi
      fi
    done
  done
done
exit "${status}"
