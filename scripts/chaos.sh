#!/usr/bin/env bash
# The chaos run (issue 9), in one command: a durable throwaway PostgreSQL, the embedded Kafka broker,
# legacy-services failing about 30 % of calls, three compensatord replicas with a 3 s lease, and
# demo-traffic placing orders of which a third die half-way and more abort on a failed call (checks
# through the pending log and Kafka). Meanwhile it SIGKILLs a random replica at random moments (restarting it), freezes one
# (SIGSTOP/SIGCONT) for twice its lease, restarts PostgreSQL (pg_ctl restart -m immediate) and
# freezes the Kafka broker for some seconds (SIGSTOP/SIGCONT: killing the embedded broker would lose
# its topics). After the last fault demo-traffic waits until nothing is unfinished, then prints its
# ledgers; the run exits 0 only if every count that must be 0 is 0 and every fault happened.
#
#   scripts/chaos.sh                          # the full run: 10,000 orders, 12 kills
#   CHAOS_SKIP_BUILD=1 BUILD_DIR=build scripts/chaos.sh
#   CHAOS_ORDERS=1500 CHAOS_KILLS=10 CHAOS_GAP_MS=800-2000 scripts/chaos.sh   # the ctest's size
#
# Other knobs: CHAOS_DIE_RATE (0.55, the share of orders planned to die: with the services' faults
# about 60 % of those reach their die point, the others abort before it), CHAOS_CONCURRENCY (32),
# CHAOS_TIMEOUT (seconds to converge after the last fault, 600), CHAOS_SEED (the random schedule and
# the services' dice; default: the time), CHAOS_KEEP=1 keeps the logs of a passing run (a failing
# run always keeps them).
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-build}
[[ "$build" = /* ]] || build="$repo/$build"
orders=${CHAOS_ORDERS:-10000}
die_rate=${CHAOS_DIE_RATE:-0.55}
kills=${CHAOS_KILLS:-12}
gap=${CHAOS_GAP_MS:-2000-6000}
concurrency=${CHAOS_CONCURRENCY:-32}
timeout_s=${CHAOS_TIMEOUT:-600}
seed=${CHAOS_SEED:-$(date +%s)}
readonly replicas=3 lease_s=3 freeze_s=7 kafka_outage_s=8

die() {
  echo "chaos: $*" >&2
  exit 2
}

[[ "$gap" =~ ^([0-9]+)-([0-9]+)$ ]] || die "CHAOS_GAP_MS must be MIN-MAX milliseconds, e.g. 800-2000"
gap_min=${BASH_REMATCH[1]}
gap_max=${BASH_REMATCH[2]}
((gap_min <= gap_max)) || die "CHAOS_GAP_MS: MIN above MAX"
((kills >= 1)) || die "CHAOS_KILLS must be at least 1"

if [[ "${CHAOS_SKIP_BUILD:-0}" != 1 ]]; then
  CHART_TOOLS="${CHART_TOOLS:-OFF}" IMAGE_TOOLS="${IMAGE_TOOLS:-OFF}" BUILD_DIR="$build" TESTS="${TESTS:-OFF}" \
    bash "$repo/scripts/build.sh" >&2
fi

legacy_services="$build/demo/legacy-services"
demo_traffic="$build/demo/demo-traffic"
compensatord="$build/daemon/compensatord"
kafka_broker="$build/demo/kafka_broker/kafka-broker"
for binary in "$legacy_services" "$demo_traffic" "$compensatord" "$kafka_broker"; do
  [[ -x "$binary" ]] || die "$binary not found: run without CHAOS_SKIP_BUILD, or set BUILD_DIR"
done
command -v curl >/dev/null || die "curl not found: run scripts/install-deps.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/compensatord-chaos.XXXXXX")
replica_pids=()
other_pids=()
traffic_pid=
broker_pid=
keep_logs=${CHAOS_KEEP:-0}

cleanup() {
  local pid
  # A frozen process ignores SIGTERM until it runs again.
  for pid in "${replica_pids[@]}" "$broker_pid"; do
    if [[ -n "$pid" ]]; then kill -CONT "$pid" 2>/dev/null || true; fi
  done
  for pid in "$traffic_pid" "${replica_pids[@]}" "${other_pids[@]}"; do
    if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "$traffic_pid" "${replica_pids[@]}" "${other_pids[@]}"; do
    if [[ -n "$pid" ]]; then wait "$pid" 2>/dev/null || true; fi
  done
  "$repo/scripts/throwaway-pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
  if ((keep_logs)); then
    echo "chaos: logs kept in $work (events.log, traffic.*, replica-N.log, legacy-services.log, kafka-broker.log)" >&2
  else
    rm -rf -- "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=lib/free-port.sh
source "$repo/scripts/lib/free-port.sh"

started=$SECONDS
event() {
  local line
  line=$(printf '%s +%ss %s' "$(date -u +%H:%M:%S)" "$((SECONDS - started))" "$*")
  echo "chaos: $line" >&2
  echo "$line" >>"$work/events.log"
}

wait_for_http() {
  local url=$1 log=$2 pid=$3
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { keep_logs=1; die "process $pid exited; last lines of $log: $(tail -n 5 "$log")"; }
    sleep 0.1
  done
  keep_logs=1
  die "$url did not answer within 20s; see $log"
}

# A random whole number in [min, max], from bash's RANDOM (seeded below, so a schedule repeats).
random_between() {
  local min=$1 max=$2
  echo $((min + (RANDOM * 32768 + RANDOM) % (max - min + 1)))
}

sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

RANDOM=$seed
event "seed $seed: $orders orders, die rate $die_rate, $kills kills, gaps $gap ms, work $work"

# Durable (fsync and synchronous_commit on, as in production): an immediate restart must not lose
# a commit the order service was told about, or the ledgers would count PostgreSQL's loss.
CHAOS_DSN=$(THROWAWAY_PG_DURABLE=1 "$repo/scripts/throwaway-pg.sh" start "$work/pg" | tail -n 1)
CHAOS_SERVICES_URL="http://127.0.0.1:$(free_port)"
export CHAOS_DSN CHAOS_SERVICES_URL

"$kafka_broker" --topic order-checks:2 --topic order-checks-dlq --bootstrap-file "$work/kafka.bootstrap" \
  >"$work/kafka-broker.log" 2>&1 &
broker_pid=$!
other_pids+=("$broker_pid")
for _ in $(seq 1 100); do
  [[ -s "$work/kafka.bootstrap" ]] && break
  sleep 0.1
done
[[ -s "$work/kafka.bootstrap" ]] || { keep_logs=1; die "kafka-broker wrote no bootstrap file within 10s"; }
CHAOS_KAFKA_BROKERS=$(<"$work/kafka.bootstrap")
export CHAOS_KAFKA_BROKERS

# 23 % of calls fail by the knobs (500 before applying, applied then 500, odd answers); the latency
# of 0..220 ms against compensatord's 200 ms timeout makes about 9 % more time out.
"$legacy_services" --listen "${CHAOS_SERVICES_URL#http://}" --order-dsn "$CHAOS_DSN" --seed "$seed" \
  --fail-rate 0.10 --lost-reply-rate 0.07 --odd-rate 0.06 --latency-ms 0 --latency-jitter-ms 220 \
  >"$work/legacy-services.log" 2>&1 &
other_pids+=($!)
wait_for_http "$CHAOS_SERVICES_URL/healthz" "$work/legacy-services.log" "${other_pids[-1]}"

CHAOS_REPLICA=chaos-0 CHAOS_DAEMON_LISTEN="127.0.0.1:$(free_port)" CHAOS_METRICS_LISTEN="127.0.0.1:$(free_port)" \
  "$compensatord" migrate --config "$repo/config/chaos.yaml" >"$work/migrate.log" 2>&1 ||
  { keep_logs=1; die "compensatord migrate failed: $(tail -n 5 "$work/migrate.log")"; }

daemon_ports=()
metrics_ports=()
for ((i = 0; i < replicas; i++)); do
  daemon_ports+=("$(free_port)")
  metrics_ports+=("$(free_port)")
done

start_replica() {
  local i=$1
  CHAOS_REPLICA="chaos-$i" CHAOS_DAEMON_LISTEN="127.0.0.1:${daemon_ports[i]}" \
    CHAOS_METRICS_LISTEN="127.0.0.1:${metrics_ports[i]}" \
    "$compensatord" run --config "$repo/config/chaos.yaml" >>"$work/replica-$i.log" 2>&1 &
  replica_pids[i]=$!
}

for ((i = 0; i < replicas; i++)); do
  start_replica "$i"
  wait_for_http "http://127.0.0.1:${metrics_ports[i]}/healthz" "$work/replica-$i.log" "${replica_pids[i]}"
done

"$demo_traffic" --dsn "$CHAOS_DSN" --services-url "$CHAOS_SERVICES_URL" --orders "$orders" --die-rate "$die_rate" \
  --checks both --kafka-brokers "$CHAOS_KAFKA_BROKERS" --kafka-topic order-checks --concurrency "$concurrency" \
  --seed "$seed" --run-id "chaos-$seed" --wait-for-convergence --converge-after "$work/chaos.done" \
  --timeout "$timeout_s" >"$work/traffic.out" 2>"$work/traffic.log" &
traffic_pid=$!

# The faults in a random order; the PostgreSQL restart and the Kafka outage fall among the kills.
schedule=()
for ((k = 0; k < kills; k++)); do schedule+=(kill); done
for fault in freeze pg-restart kafka-outage; do
  position=$(random_between 0 "${#schedule[@]}")
  schedule=("${schedule[@]:0:position}" "$fault" "${schedule[@]:position}")
done

done_kills=0 done_freezes=0 done_pg=0 done_kafka=0 unexpected_exits=0 placing=1
# Notes in the events log when demo-traffic has placed its last order (it prints its "run" line then).
note_placing_done() {
  if ((placing)) && grep -q '^run ' "$work/traffic.out"; then
    placing=0
    event "demo-traffic placed its last order: $(grep -A1 '^run ' "$work/traffic.out" | tail -n 1)"
  fi
}

# A replica that exited without being killed: counted (the summary shows it) and started again.
supervise() {
  local i exit_status
  for ((i = 0; i < replicas; i++)); do
    if ! kill -0 "${replica_pids[i]}" 2>/dev/null; then
      exit_status=0
      wait "${replica_pids[i]}" 2>/dev/null || exit_status=$?
      unexpected_exits=$((unexpected_exits + 1))
      event "replica chaos-$i exited by itself (status $exit_status); last lines: $(tail -n 3 "$work/replica-$i.log" | tr '\n' ' ')"
      start_replica "$i"
    fi
  done
}

for fault in "${schedule[@]}"; do
  sleep_ms "$(random_between "$gap_min" "$gap_max")"
  kill -0 "$traffic_pid" 2>/dev/null || { keep_logs=1; die "demo-traffic exited during the faults: $(tail -n 5 "$work/traffic.log")"; }
  supervise
  note_placing_done
  i=$(random_between 0 $((replicas - 1)))
  case "$fault" in
    kill)
      kill -KILL "${replica_pids[i]}"
      wait "${replica_pids[i]}" 2>/dev/null || true
      event "SIGKILL replica chaos-$i"
      sleep_ms "$(random_between 100 1500)"
      start_replica "$i"
      # compensatord exits when it cannot reach its database at start (a supervisor restarts it):
      # the next fault, maybe the PostgreSQL restart, waits until this replica is up.
      wait_for_http "http://127.0.0.1:${metrics_ports[i]}/healthz" "$work/replica-$i.log" "${replica_pids[i]}"
      done_kills=$((done_kills + 1))
      ;;
    freeze)
      kill -STOP "${replica_pids[i]}"
      event "SIGSTOP replica chaos-$i for ${freeze_s}s (lease ${lease_s}s)"
      sleep "$freeze_s"
      kill -CONT "${replica_pids[i]}"
      event "SIGCONT replica chaos-$i"
      done_freezes=$((done_freezes + 1))
      ;;
    pg-restart)
      event "PostgreSQL: pg_ctl restart -m immediate"
      "$repo/scripts/throwaway-pg.sh" restart "$work/pg" || { keep_logs=1; die "the PostgreSQL restart failed"; }
      event "PostgreSQL accepts connections again"
      done_pg=$((done_pg + 1))
      ;;
    kafka-outage)
      kill -STOP "$broker_pid"
      event "Kafka outage: kafka-broker frozen (SIGSTOP) for ${kafka_outage_s}s"
      sleep "$kafka_outage_s"
      kill -CONT "$broker_pid"
      event "Kafka outage over (SIGCONT)"
      done_kafka=$((done_kafka + 1))
      ;;
  esac
done
supervise
note_placing_done
event "last fault done; demo-traffic waits for convergence"
touch "$work/chaos.done"

status=0
wait "$traffic_pid" || status=$?
traffic_pid=
supervise
cat "$work/traffic.out"
elapsed=$((SECONDS - started))
printf 'chaos: %d SIGKILLs, %d SIGSTOP/SIGCONT past the lease, %d PostgreSQL restart, %d Kafka outage, %d replica exits not caused by the run\n' \
  "$done_kills" "$done_freezes" "$done_pg" "$done_kafka" "$unexpected_exits"
printf 'chaos: %d orders, seed %s, %d s\n' "$orders" "$seed" "$elapsed"
if ((status != 0 || unexpected_exits != 0)); then
  keep_logs=1
  echo "chaos: FAILED (demo-traffic exit $status, $unexpected_exits unexpected replica exits)"
  exit 1
fi
echo "chaos: PASSED"
