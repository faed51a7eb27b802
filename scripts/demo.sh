#!/usr/bin/env bash
# The compensatord demo, in one command: installs missing packages, builds, then runs
# a throwaway PostgreSQL, the embedded Kafka broker, the sample legacy services failing 10% of
# calls, compensatord, and demo-traffic placing orders of which a quarter die half-way; each order
# opens its transaction in the pending log and publishes a delayed check message to Kafka.
# Prints the consistency report and exits with its status: 0 when compensatord repaired every
# half-finished order.
#
#   BUILD_DIR=build scripts/demo.sh          # build into and run from $BUILD_DIR (default: build)
#   DEMO_SKIP_BUILD=1 scripts/demo.sh        # use the binaries already in $BUILD_DIR
#   DEMO_ORDERS=1000 DEMO_DIE_RATE=0.25 DEMO_TIMEOUT=120 scripts/demo.sh
#   DEMO_CHECKS=kafka scripts/demo.sh        # pending_log, kafka or both (default): demo-traffic --checks
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-build}
[[ "$build" = /* ]] || build="$repo/$build"
orders=${DEMO_ORDERS:-1000}
die_rate=${DEMO_DIE_RATE:-0.25}
timeout_s=${DEMO_TIMEOUT:-120}
checks=${DEMO_CHECKS:-both}

if [[ "${DEMO_SKIP_BUILD:-0}" != 1 ]]; then
  CHART_TOOLS="${CHART_TOOLS:-OFF}" IMAGE_TOOLS="${IMAGE_TOOLS:-OFF}" BUILD_DIR="$build" TESTS="${TESTS:-OFF}" bash "$repo/scripts/build.sh" >&2
fi

legacy_services="$build/demo/legacy-services"
demo_traffic="$build/demo/demo-traffic"
compensatord="$build/daemon/compensatord"
kafka_broker="$build/demo/kafka_broker/kafka-broker"

die() {
  echo "demo: $*" >&2
  exit 2
}

for binary in "$legacy_services" "$demo_traffic" "$compensatord" "$kafka_broker"; do
  [[ -x "$binary" ]] || die "$binary not found: run without DEMO_SKIP_BUILD, or set BUILD_DIR"
done
command -v curl >/dev/null || die "curl not found: run scripts/install-deps.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/compensatord-demo.XXXXXX")
pids=()
keep_logs=0

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$repo/scripts/throwaway-pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
  if ((keep_logs)); then
    echo "demo: logs kept in $work (legacy-services.log, compensatord.log, kafka-broker.log)" >&2
  else
    rm -rf -- "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=lib/free-port.sh
source "$repo/scripts/lib/free-port.sh"

# Waits until URL answers 200, or fails naming the log of the process behind it.
wait_for_http() {
  local url=$1 log=$2 pid=$3
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { keep_logs=1; die "process $pid exited; last lines of $log: $(tail -n 5 "$log")"; }
    sleep 0.1
  done
  keep_logs=1
  die "$url did not answer within 10s; see $log"
}

echo "demo: starting a throwaway PostgreSQL" >&2
DEMO_DSN=$("$repo/scripts/throwaway-pg.sh" start "$work/pg" | tail -n 1)
DEMO_SERVICES_URL="http://127.0.0.1:$(free_port)"
DEMO_DAEMON_LISTEN="127.0.0.1:$(free_port)"
DEMO_METRICS_LISTEN="127.0.0.1:$(free_port)"
export DEMO_DSN DEMO_SERVICES_URL DEMO_DAEMON_LISTEN DEMO_METRICS_LISTEN

echo "demo: starting the embedded Kafka broker (topics order-checks, order-checks-dlq)" >&2
"$kafka_broker" --topic order-checks:2 --topic order-checks-dlq --bootstrap-file "$work/kafka.bootstrap" \
  >"$work/kafka-broker.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  [[ -s "$work/kafka.bootstrap" ]] && break
  kill -0 "${pids[-1]}" 2>/dev/null || { keep_logs=1; die "kafka-broker exited: $(tail -n 5 "$work/kafka-broker.log")"; }
  sleep 0.1
done
[[ -s "$work/kafka.bootstrap" ]] || { keep_logs=1; die "kafka-broker wrote no bootstrap file within 10s"; }
DEMO_KAFKA_BROKERS=$(<"$work/kafka.bootstrap")
export DEMO_KAFKA_BROKERS

echo "demo: starting legacy-services on $DEMO_SERVICES_URL (10% of calls fail, lose their reply or answer oddly)" >&2
"$legacy_services" --listen "${DEMO_SERVICES_URL#http://}" --order-dsn "$DEMO_DSN" \
  --fail-rate 0.04 --lost-reply-rate 0.03 --odd-rate 0.03 --latency-ms 1 --latency-jitter-ms 4 \
  >"$work/legacy-services.log" 2>&1 &
pids+=($!)
wait_for_http "$DEMO_SERVICES_URL/healthz" "$work/legacy-services.log" "${pids[-1]}"

echo "demo: starting compensatord on $DEMO_DAEMON_LISTEN" >&2
"$compensatord" migrate --config "$repo/config/demo.yaml" >"$work/compensatord.log" 2>&1 ||
  { keep_logs=1; die "compensatord migrate failed: $(tail -n 5 "$work/compensatord.log")"; }
"$compensatord" run --config "$repo/config/demo.yaml" >>"$work/compensatord.log" 2>&1 &
pids+=($!)
wait_for_http "http://$DEMO_METRICS_LISTEN/healthz" "$work/compensatord.log" "${pids[-1]}"

echo "demo: placing $orders orders (checks: $checks), $die_rate of them dying half-way" >&2
status=0
"$demo_traffic" --dsn "$DEMO_DSN" --services-url "$DEMO_SERVICES_URL" --orders "$orders" --die-rate "$die_rate" \
  --checks "$checks" --kafka-brokers "$DEMO_KAFKA_BROKERS" --kafka-topic order-checks \
  --concurrency 8 --wait-for-convergence --timeout "$timeout_s" || status=$?
((status == 0)) || keep_logs=1
exit "$status"
