#!/usr/bin/env bash
# Kafka ingest msg/s, one-by-one (one database transaction per message, the path before batching)
# against batch (one multi-row upsert per poll batch), in one run: one throwaway PostgreSQL, one
# kafka-broker, the topics filled once, then ROUNDS rounds that each run both modes, each mode
# reading its whole topic with a fresh consumer group into emptied tables.
#   BUILD_DIR (default build), MESSAGES (batch mode's topic, default 200000),
#   SLOW_MESSAGES (one-by-one mode's topic, default MESSAGES / 10: the slow path needs minutes
#   for that already), ROUNDS (default 3), PARTITIONS (default 16: the embedded broker keeps
#   about 5 MB per partition and drops older messages, so 200,000 need more than 4),
#   BATCH (commit_batch_size, default 100), MODES (default "one-by-one batch")
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-build}
[[ "$build" = /* ]] || build="$repo/$build"
messages=${MESSAGES:-200000}
slow_messages=${SLOW_MESSAGES:-$((messages / 10))}
rounds=${ROUNDS:-3}
batch=${BATCH:-100}
work=$(mktemp -d "${TMPDIR:-/tmp}/compensatord-kafka-bench.XXXXXX")
chmod 755 "$work"
broker_pid=""
cleanup() {
  [[ -n "$broker_pid" ]] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  "$repo/scripts/throwaway-pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

dsn=$("$repo/scripts/throwaway-pg.sh" start "$work/pg" | tail -n 1)
"$build/demo/kafka_broker/kafka-broker" --topic "checks:${PARTITIONS:-16}" --topic checks-dlq \
  --topic "checks-slow:${PARTITIONS:-16}" --topic checks-slow-dlq \
  --bootstrap-file "$work/bootstrap" >"$work/broker.log" 2>&1 &
broker_pid=$!
for _ in $(seq 1 100); do [[ -s "$work/bootstrap" ]] && break; sleep 0.1; done
[[ -s "$work/bootstrap" ]] || { cat "$work/broker.log" >&2; exit 1; }
brokers=$(head -n 1 "$work/bootstrap")

bench=("$build/bench/kafka_ingest" --dsn "$dsn" --brokers "$brokers")
"${bench[@]}" --produce "$messages" --topic checks
"${bench[@]}" --produce "$slow_messages" --topic checks-slow
declare -A rates
for round in $(seq 1 "$rounds"); do
  for mode in ${MODES:-one-by-one batch}; do
    if [[ $mode == batch ]]; then topic=(--topic checks --expect "$messages"); else topic=(--topic checks-slow --expect "$slow_messages"); fi
    line=$("${bench[@]}" "${topic[@]}" --mode "$mode" --batch "$batch" | grep '^mode=')
    echo "round=$round $line"
    rates[$mode]+="${line##*msg_per_s=} "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
summary="median msg/s:"
for mode in ${MODES:-one-by-one batch}; do summary+=" $mode=$(median <<<"${rates[$mode]}")"; done
if [[ -n "${rates[one-by-one]:-}" && -n "${rates[batch]:-}" ]]; then
  summary+=" ratio=$(awk -v a="$(median <<<"${rates[batch]}")" -v b="$(median <<<"${rates[one-by-one]}")" \
    'BEGIN {printf "%.2f", a / b}')"
fi
echo "$summary"
