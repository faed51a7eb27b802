#!/usr/bin/env bash
# legacy-services' stock cancel endpoint under wrk at several connection counts, one fresh
# legacy-services process per run (a run that hangs it cannot spoil the next). Compare builds in
# one run by naming several binaries:
#   bench/wrk/services_cancel.sh [LABEL=PATH/TO/legacy-services ...]
#   (default: now=$BUILD_DIR/demo/legacy-services, BUILD_DIR defaults to build)
# CONNECTIONS (default "32 64 200"), DURATION (default 10s), THREADS (wrk threads, default 2),
# TIMEOUT (wrk's per-request timeout, default 2s).
# Prints one line per run: label, connections, req/s, latency p50/p99, errors and timeouts.
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD_DIR:-build}
[[ "$build" = /* ]] || build="$repo/$build"
command -v wrk >/dev/null || { echo "services_cancel: wrk is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
targets=("$@")
((${#targets[@]})) || targets=("now=$build/demo/legacy-services")

work=$(mktemp -d "${TMPDIR:-/tmp}/services-cancel.XXXXXX")
services_pid=""
stop_services() {
  if [[ -n "$services_pid" ]]; then
    kill "$services_pid" 2>/dev/null || true
    # A hung process may not stop on SIGTERM; do not wait forever for it.
    for _ in $(seq 50); do kill -0 "$services_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$services_pid" 2>/dev/null || true
    wait "$services_pid" 2>/dev/null || true
    services_pid=""
  fi
}
trap 'stop_services; rm -rf "$work"' EXIT

# shellcheck source=../../scripts/lib/free-port.sh
source "$repo/scripts/lib/free-port.sh"

printf '%-8s %5s %10s %9s %9s %7s %9s\n' label conns req/s p50_ms p99_ms errors timeouts
for target in "${targets[@]}"; do
  label=${target%%=*}
  binary=${target#*=}
  for connections in ${CONNECTIONS:-32 64 200}; do
    port=$(free_port)
    "$binary" --listen "127.0.0.1:$port" --skus 1 --log-level warn >"$work/$label-$connections.log" 2>&1 &
    services_pid=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
    summary=$(wrk -t "${THREADS:-2}" -c "$connections" -d "${DURATION:-10s}" --timeout "${TIMEOUT:-2s}" \
      -s "$repo/bench/wrk/stock_cancel.lua" "http://127.0.0.1:$port" | grep '^SUMMARY')
    # Still answering after the run? A deadlocked service does not.
    after="answers"
    curl -fs -m 2 "http://127.0.0.1:$port/healthz" >/dev/null || after="HUNG"
    stop_services
    read -r rps p50 p99 errors timeouts < <(sed -E \
      's/.*req_per_s=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+) errors=([0-9]+) timeouts=([0-9]+).*/\1 \2 \3 \4 \5/' \
      <<<"$summary")
    printf '%-8s %5s %10s %9s %9s %7s %9s  afterwards: %s\n' "$label" "$connections" "$rps" "$p50" "$p99" "$errors" \
      "$timeouts" "$after"
  done
done
