#!/usr/bin/env bash
# Claim latency against a growing history of finished transactions, in one throwaway
# PostgreSQL, one run: the ratio between sizes is what the design promises stays ~1.
#   BUILD_DIR (default build), HISTORIES (default "1000 1000000 10000000")
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-build}
[[ "$build" = /* ]] || build="$repo/$build"
work=$(mktemp -d "${TMPDIR:-/tmp}/compensatord-bench.XXXXXX")
chmod 755 "$work"
trap '"$repo/scripts/throwaway-pg.sh" stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
dsn=$("$repo/scripts/throwaway-pg.sh" start "$work/pg" | tail -n 1)
for history in ${HISTORIES:-1000 1000000 10000000}; do
  "$build/bench/claim_bench" --dsn "$dsn" --history "$history"
done
