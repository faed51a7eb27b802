#!/usr/bin/env bash
# compensatord's throughput benchmark (issue 8), in one command and one world it starts itself:
# a throwaway PostgreSQL (durable: fsync on), legacy-services with no faults and no added
# latency, the RelWithDebInfo compensatord from $BUILD_DIR, and for the kafka stage the embedded
# kafka-broker. Every stage prints progress lines; one summary table is printed at the end.
# Everything it started is stopped on exit, Ctrl-C included. Method and figures: docs/performance.md.
#
#   bench/throughput.sh                                   # every stage, N=100000, BIG_N=1000000
#   N=20000 BIG_N=0 STAGES="ceilings drain" bench/throughput.sh
#
# Stages (STAGES, default all, in this order):
#   ceilings  wrk against legacy-services' stock cancel; pgbench -N, 8 clients
#   drain     N due transactions (2 branches: stock + coupon; COMMITTED_PCT % confirmed, the
#             rest cancelled, every branch holding a real lock) drained by `run --until-idle`,
#             DRAIN_REPEATS times: txn/s, calls/s, ratio to min(cancel calls/s / 2, pgbench tps)
#   latency   steady arrival for LATENCY_SECONDS at LATENCY_RATE (default half the drain median)
#             with `run`: due -> resolved p50/p99 (finished_at - due_at)
#   sweep     SWEEP_N transactions for each SWEEP_WORKERS x SWEEP_MAX_IN_FLIGHT: txn/s
#   rss       peak RSS (VmHWM) of the daemon draining BIG_N due transactions (BIG_N=0 skips)
#   replicas  REPLICAS_N transactions drained by 1 replica, then by 2: txn/s each
#   kafka     KAFKA_N check messages produced to kafka-broker, then ingested by `run`: msg/s
#   retention RETENTION_HISTORY finished transactions (2 branches, 3 attempts each, by
#             generate_series), then RETENTION_THREADS threads claiming and writing back a due
#             backlog as a reconciler at load does, in slices of RETENTION_SLICE_SECONDS alternately
#             idle and with the retention job deleting, until the history is gone: claim p50/p99 of
#             the idle and of the purging slices, and the purge's rate (bench/retention_bench)
#
# Settings (environment): BUILD_DIR (build), N (100000), BIG_N (1000000), DRAIN_REPEATS (3),
# WORKERS (16), BATCH (100), MAX_IN_FLIGHT (32, per participant), CHECK_CONNECTIONS (unset: the
# check's max_connections default), LEASE (10s), LOG_LEVEL (info),
# COMMITTED_PCT (50), WRK_CONNECTIONS (32), WRK_THREADS (2), CEILING_SECONDS (12),
# PGBENCH_CLIENTS (8), LATENCY_SECONDS (60), LATENCY_RATE (half the drain median, else 150),
# LATENCY_TIMEOUT (1 s: begin_transaction's p_timeout), SWEEP_N (5000), SWEEP_WORKERS
# ("16 64 256"), SWEEP_MAX_IN_FLIGHT ("8 32"), RSS_SECONDS (0 = until drained), REPLICAS_N (N),
# REPLICA_MAX_IN_FLIGHT (MAX_IN_FLIGHT), KAFKA_N (200000), KAFKA_PARTITIONS (2),
# KAFKA_TIMEOUT (600), RETENTION_HISTORY (1000000), RETENTION_THREADS (4), RETENTION_SLICE_SECONDS
# (15), RETENTION_BATCH_SIZE (1000), RETENTION_PAUSE_MS (100), PG_DURABLE (1; 0 = fsync off like the tests' cluster), KEEP (1 keeps the
# work directory with every log), PG_PROFILE (0; 1 loads pg_stat_statements and logs each drain's
# statements by total time, the whole list in $work/<drain>-statements.txt: costs some speed).
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-build}
[[ "$build" = /* ]] || build="$repo/$build"

stages=${STAGES:-ceilings drain latency sweep rss replicas kafka retention}
n=${N:-100000}
big_n=${BIG_N:-1000000}
drain_repeats=${DRAIN_REPEATS:-3}
workers=${WORKERS:-16}
batch=${BATCH:-100}
max_in_flight=${MAX_IN_FLIGHT:-32}
check_connections=${CHECK_CONNECTIONS:-}
lease=${LEASE:-10s}
log_level=${LOG_LEVEL:-info}
committed_pct=${COMMITTED_PCT:-50}
wrk_connections=${WRK_CONNECTIONS:-32}
wrk_threads=${WRK_THREADS:-2}
ceiling_seconds=${CEILING_SECONDS:-12}
pgbench_clients=${PGBENCH_CLIENTS:-8}
latency_seconds=${LATENCY_SECONDS:-60}
latency_timeout=${LATENCY_TIMEOUT:-1}
sweep_n=${SWEEP_N:-5000}
sweep_workers=${SWEEP_WORKERS:-16 64 256}
sweep_max_in_flight=${SWEEP_MAX_IN_FLIGHT:-8 32}
rss_seconds=${RSS_SECONDS:-0}
replicas_n=${REPLICAS_N:-$n}
replica_max_in_flight=${REPLICA_MAX_IN_FLIGHT:-$max_in_flight}
kafka_n=${KAFKA_N:-200000}
kafka_partitions=${KAFKA_PARTITIONS:-2}
kafka_timeout=${KAFKA_TIMEOUT:-600}
retention_history=${RETENTION_HISTORY:-1000000}
retention_threads=${RETENTION_THREADS:-4}
retention_slice_seconds=${RETENTION_SLICE_SECONDS:-15}
retention_batch_size=${RETENTION_BATCH_SIZE:-1000}
retention_pause_ms=${RETENTION_PAUSE_MS:-100}
pg_durable=${PG_DURABLE:-1}
pg_profile=${PG_PROFILE:-0}
readonly skus=20

legacy_services="$build/demo/legacy-services"
compensatord="$build/daemon/compensatord"
kafka_broker="$build/demo/kafka_broker/kafka-broker"
retention_bench="$build/bench/retention_bench"

log() { printf '[%(%T)T] bench: %s\n' -1 "$*" >&2; }
die() {
  log "error: $*"
  exit 2
}

# --- the world and its teardown ---------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/compensatord-throughput.XXXXXX")
chmod 755 "$work" # the PostgreSQL server runs as the postgres user and must reach $work/pg
started=()        # pids of every process this script started; cleanup stops the live ones
summary=()        # "stage|figure|value|how" rows of the final table
services_pid=""
services_url=""
dsn=""

print_summary() {
  ((${#summary[@]})) || return 0
  printf '\n%-9s  %-44s  %-22s  %s\n' stage figure value how
  printf '%-9s  %-44s  %-22s  %s\n' --------- -------------------------------------------- \
    ---------------------- ------------------------------------------
  local row stage figure value how
  for row in "${summary[@]}"; do
    IFS='|' read -r stage figure value how <<<"$row"
    printf '%-9s  %-44s  %-22s  %s\n' "$stage" "$figure" "$value" "$how"
  done
}

cleanup() {
  local status=$? pid
  # A second Ctrl-C must not cut the teardown short and leave a server running.
  trap - EXIT
  trap '' INT TERM
  for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${started[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$repo/scripts/throwaway-pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
  if ((status != 0)); then
    print_summary
    log "stopped with status $status"
  fi
  if [[ "${KEEP:-0}" == 1 || $status -ne 0 ]]; then
    log "logs kept in $work"
  else
    rm -rf -- "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

add() { summary+=("$1|$2|$3|$4"); }

# shellcheck source=../scripts/lib/free-port.sh
source "$repo/scripts/lib/free-port.sh"

now_us() { echo "${EPOCHREALTIME/./}"; }
seconds_since() { awk -v a="$1" -v b="$(now_us)" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'; }
per_second() { awk -v c="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? c / s : 0) }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
  if (NR == 0) { print "n/a"; exit }
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

sql() { psql "$dsn" -XAtq -v ON_ERROR_STOP=1 "$@"; }

wait_for_http() {
  local url=$1 pid=$2 log_file=$3
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || die "process $pid exited; last lines of $log_file: $(tail -n 5 "$log_file")"
    sleep 0.1
  done
  die "$url did not answer within 15 s; see $log_file"
}

stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

check_tools() {
  local binary tool
  for binary in "$legacy_services" "$compensatord"; do
    [[ -x "$binary" ]] || die "$binary not found: BUILD_DIR=build bash scripts/build.sh first (or set BUILD_DIR)"
  done
  if [[ " $stages " == *" kafka "* ]]; then
    [[ -x "$kafka_broker" ]] || die "$kafka_broker not found: build it, or leave kafka out of STAGES"
  fi
  if [[ " $stages " == *" retention "* ]]; then
    [[ -x "$retention_bench" ]] || die "$retention_bench not found: build it, or leave retention out of STAGES"
  fi
  for tool in wrk pgbench psql curl kcat awk; do
    command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
  done
  local build_type
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
  [[ "$build_type" == RelWithDebInfo ]] ||
    log "warning: $build is a '${build_type:-unknown}' build; the figures are meant for RelWithDebInfo"
}

start_pg() {
  log "starting a throwaway PostgreSQL (durable: PG_DURABLE=$pg_durable)"
  local preload=""
  [[ "$pg_profile" != 1 ]] || preload=pg_stat_statements
  dsn=$(THROWAWAY_PG_DURABLE="$pg_durable" THROWAWAY_PG_MAX_CONNECTIONS=600 THROWAWAY_PG_PRELOAD="$preload" \
    "$repo/scripts/throwaway-pg.sh" start "$work/pg" | tail -n 1)
  log "PostgreSQL at $dsn: fsync=$(sql -c 'SHOW fsync') synchronous_commit=$(sql -c 'SHOW synchronous_commit')"
}

# A fresh legacy-services (an empty lock book) for each measured run, so that every run
# starts from the same state; it also owns the demo_orders table (--order-dsn).
restart_services() {
  local coupons=$1
  [[ -n "$services_pid" ]] && stop_pid "$services_pid"
  services_url="http://127.0.0.1:$(free_port)"
  "$legacy_services" --listen "${services_url#http://}" --order-dsn "$dsn" --log-level warn \
    --skus "$skus" --stock-per-sku 1000000000 --coupons "$((coupons > 0 ? coupons : 1))" \
    >>"$work/legacy-services.log" 2>&1 &
  services_pid=$!
  started+=("$services_pid")
  wait_for_http "$services_url/healthz" "$services_pid" "$work/legacy-services.log"
}

# --- the daemon's config: config/demo.yaml's shape with the bench's tuning ----------------------

# set_key FILE REGEX REPLACEMENT: replaces matching lines, and fails when nothing matched, so a
# renamed key in config/demo.yaml stops the bench instead of silently measuring the defaults.
set_key() {
  local file=$1 pattern=$2 replacement=$3
  grep -Eq "$pattern" "$file" || die "config/demo.yaml has no line matching '$pattern': update bench/throughput.sh"
  sed -Ei "s|$pattern|$replacement|" "$file"
}

# write_config FILE REPLICA WORKERS MAX_IN_FLIGHT WITH_KAFKA(0|1)
write_config() {
  local file=$1 replica=$2 w=$3 mif=$4 with_kafka=$5
  cp "$repo/config/demo.yaml" "$file"
  set_key "$file" '^replica_id: .*' "replica_id: $replica"
  set_key "$file" '^(  batch_size:) .*' "\\1 $batch"
  set_key "$file" '^(  workers:) .*' "\\1 $w"
  set_key "$file" '^(  lease:) .*' "\\1 $lease"
  set_key "$file" '^(    max_in_flight:) .*' "\\1 $mif"
  set_key "$file" '^(  level:) .*' "\\1 $log_level"
  if [[ -n "$check_connections" ]]; then
    sed -i "s|^\(        query: .SELECT 1 FROM demo_orders.*\)$|\1\n        max_connections: $check_connections|" "$file"
    grep -q "max_connections: $check_connections" "$file" ||
      die "CHECK_CONNECTIONS: no check query to set it on in $file (config/demo.yaml changed?)"
  fi
  ((with_kafka)) || sed -i '/^sources:/,$d' "$file"
  DEMO_DSN=$dsn DEMO_SERVICES_URL=http://127.0.0.1:1 DEMO_DAEMON_LISTEN=127.0.0.1:1 DEMO_METRICS_LISTEN=127.0.0.1:1 \
    DEMO_KAFKA_BROKERS=127.0.0.1:1 "$compensatord" check-config "$file" >/dev/null 2>"$work/check-config.log" ||
    die "generated config $file is invalid: $(tail -n 5 "$work/check-config.log")"
}

# start_daemon CONFIG LOG [--until-idle]: starts compensatord; its pid is in $daemon_pid, its
# API's address in $daemon_listen, its metrics' in $daemon_metrics.
start_daemon() {
  local config=$1 log_file=$2
  shift 2
  daemon_listen="127.0.0.1:$(free_port)"
  daemon_metrics="127.0.0.1:$(free_port)"
  DEMO_DSN=$dsn DEMO_SERVICES_URL=$services_url DEMO_DAEMON_LISTEN=$daemon_listen \
    DEMO_METRICS_LISTEN="$daemon_metrics" DEMO_KAFKA_BROKERS=${kafka_brokers:-} \
    "$compensatord" run --config "$config" "$@" >>"$log_file" 2>&1 &
  daemon_pid=$!
  started+=("$daemon_pid")
}

vm_hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# CPU time of the world's processes: cpu_ticks["comm pid"] holds the last utime + stime seen
# (clock ticks). Sampled while a drain runs, so that processes which exit (the daemon, its
# database backends) are counted up to their last second.
declare -A cpu_ticks=()
sample_cpu() {
  local proc comm fields
  for proc in /proc/[0-9]*; do
    read -r comm 2>/dev/null <"$proc/comm" || continue
    case $comm in postgres | compensatord | legacy-services) ;; *) continue ;; esac
    read -ra fields 2>/dev/null <"$proc/stat" || continue
    cpu_ticks["$comm ${proc#/proc/}"]=$((fields[13] + fields[14]))
  done
}

# cpu_per_txn BASELINE_FILE COUNT: "<comm> <ms>" per process kind, CPU milliseconds per transaction.
cpu_per_txn() {
  local baseline=$1 count=$2 key hz
  hz=$(getconf CLK_TCK)
  for key in "${!cpu_ticks[@]}"; do echo "$key ${cpu_ticks[$key]}"; done |
    awk -v base="$baseline" -v n="$count" -v hz="$hz" '
      BEGIN { while ((getline line < base) > 0) { split(line, f, " "); before[f[1] " " f[2]] = f[3] } }
      { used[$1] += $3 - ((($1 " " $2) in before) ? before[$1 " " $2] : 0) }
      END { for (c in used) printf "%s %.2f ms, ", c, (n > 0 ? used[c] * 1000 / hz / n : 0) }' | sed 's/, $//'
}

# stage_means METRICS_TEXT: mean seconds of each reconcile stage, from the histogram's sum / count.
stage_means() {
  awk -F'[{}" ]+' '/^compensatord_reconcile_stage_seconds_(sum|count)\{/ {
      if ($1 ~ /_sum$/) sum[$3] = $NF; else count[$3] = $NF }
    END { n = split("check decide calls write_back", order, " ")
      for (i = 1; i <= n; i++) if (count[order[i]] > 0)
        printf "%s %.1f ms, ", order[i], sum[order[i]] * 1000 / count[order[i]] }' "$1" | sed 's/, $//'
}

# --- seeding ------------------------------------------------------------------------------------

reset_state() {
  sql -c 'TRUNCATE compensatord.transactions CASCADE' \
    -c 'TRUNCATE demo_orders'
}

# seed_locks PREFIX COUNT: the stock and coupon "try" of orders PREFIX1..PREFIXCOUNT, through
# legacy-services' own HTTP API (bench/wrk/seed_locks.lua), every answer checked.
seed_locks() {
  local prefix=$1 count=$2 threads done_dir start failed=0 file
  threads=$((count < wrk_threads ? count : wrk_threads))
  done_dir="$work/seed-$prefix"
  mkdir -p "$done_dir"
  start=$(now_us)
  wrk -t "$threads" -c "$wrk_connections" -d 1h --timeout 10s -s "$repo/bench/wrk/seed_locks.lua" \
    "$services_url" -- "$prefix" "$count" "$threads" "$skus" "$done_dir" >"$work/seed-$prefix.log" 2>&1 &
  local wrk_pid=$!
  started+=("$wrk_pid")
  until (($(find "$done_dir" -type f | wc -l) == threads)); do
    kill -0 "$wrk_pid" 2>/dev/null || die "wrk stopped before seeding $prefix: $(tail -n 5 "$work/seed-$prefix.log")"
    (($(now_us) - start < 600000000)) || die "seeding $count locks took over 600 s (legacy-services hung?)"
    sleep 0.2
  done
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" 2>/dev/null || true
  for file in "$done_dir"/*; do failed=$((failed + $(<"$file"))); done
  ((failed == 0)) || die "$failed of $((2 * count)) lock calls were not answered 200 (see $work/legacy-services.log)"
  log "  locked stock and a coupon for $count orders through the HTTP API in $(seconds_since "$start") s"
}

# seed_rows PREFIX COUNT COMMITTED_PCT: COUNT transactions of kind order, due now, each with a
# stock and a coupon branch matching seed_locks; COMMITTED_PCT % of them have their order row
# in demo_orders (the check says committed: confirm), the rest are cancelled.
seed_rows() {
  local prefix=$1 count=$2 pct=$3 start
  start=$(now_us)
  sql -v prefix="$prefix" -v n="$count" -v pct="$pct" -v skus="$skus" <<'SQL'
BEGIN;
INSERT INTO compensatord.transactions (xid, kind, source, status, due_at, next_attempt_at)
SELECT :'prefix' || g, 'order', 'pending_log', 'PENDING', now(), now() FROM generate_series(1, :n) g;
INSERT INTO compensatord.branches (xid, branch_no, participant, fields)
SELECT :'prefix' || g, b.no, b.participant,
       CASE b.no WHEN 0 THEN jsonb_build_object('sku', 'SKU-' || (g % :skus + 1), 'qty', 1)
                 ELSE jsonb_build_object('coupon_id', 'CPN-' || g) END
FROM generate_series(1, :n) g CROSS JOIN (VALUES (0, 'stock'), (1, 'coupon')) AS b (no, participant);
INSERT INTO demo_orders (order_no, sku, qty, coupon_id)
SELECT :'prefix' || g, 'SKU-' || (g % :skus + 1), 1, 'CPN-' || g FROM generate_series(1, :n) g
WHERE g % 100 < :pct;
COMMIT;
VACUUM ANALYZE compensatord.transactions, compensatord.branches, compensatord.attempts, demo_orders;
SQL
  log "  inserted $count due transactions ($pct % committed) in $(seconds_since "$start") s"
}

# seed PREFIX COUNT: a fresh legacy-services, empty tables, locks, then rows.
seed() {
  local prefix=$1 count=$2
  restart_services "$count"
  reset_state
  seed_locks "$prefix" "$count"
  seed_rows "$prefix" "$count" "$committed_pct"
}

# --- one drain ----------------------------------------------------------------------------------

# drain LABEL COUNT REPLICAS WORKERS MAX_IN_FLIGHT [STOP_AFTER_S]: `run --until-idle` on the
# seeded rows with REPLICAS daemons at once; sets drain_seconds, drain_txn_s, drain_calls_s,
# drain_hwm_mib, and logs what happened to the rows and the calls.
drain() {
  local label=$1 count=$2 replicas=$3 w=$4 mif=$5 stop_after=${6:-0}
  local timeout_s=$((120 + count / 20)) start pids=() pid i hwm=0 value alive key
  for ((i = 1; i <= replicas; i++)); do
    write_config "$work/$label-$i.yaml" "bench-$label-$i" "$w" "$mif" 0
  done
  cpu_ticks=()
  sample_cpu
  for key in "${!cpu_ticks[@]}"; do echo "$key ${cpu_ticks[$key]}"; done >"$work/$label-cpu-before.txt"
  [[ "$pg_profile" != 1 ]] || sql -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
    -c "SELECT pg_stat_statements_reset()" >/dev/null
  start=$(now_us)
  local metrics_url="" last_sample=0
  for ((i = 1; i <= replicas; i++)); do
    start_daemon "$work/$label-$i.yaml" "$work/compensatord-$label-$i.log" --until-idle
    pids+=("$daemon_pid")
    [[ -n "$metrics_url" ]] || metrics_url="http://$daemon_metrics/metrics"
  done
  while :; do
    # Once a second: CPU times, and the first replica's metrics (the last scrape before it exits).
    if (($(now_us) - last_sample >= 1000000)); then
      last_sample=$(now_us)
      sample_cpu
      curl -fsS --max-time 1 -o "$work/$label-metrics.tmp" "$metrics_url" 2>/dev/null &&
        mv "$work/$label-metrics.tmp" "$work/$label-metrics.txt"
    fi
    alive=0
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || continue
      alive=1
      value=$(vm_hwm_kib "$pid")
      [[ -n "$value" ]] && ((value > hwm)) && hwm=$value
    done
    ((alive)) || break
    if ((stop_after > 0 && $(now_us) - start >= stop_after * 1000000)) ||
      (($(now_us) - start >= timeout_s * 1000000)); then
      ((stop_after > 0)) || log "  warning: not drained after $timeout_s s; stopping the daemon"
      for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    fi
    sleep 0.2
  done
  for pid in "${pids[@]}"; do
    # A replica that failed (e.g. could not listen) would leave a figure that is not what it says.
    wait "$pid" 2>/dev/null || die "compensatord $pid exited with $?: $(grep -hv '"level":"info"' \
      "$work/compensatord-$label-"*.log | tail -n 3)"
  done
  drain_seconds=$(seconds_since "$start")
  [[ "$pg_profile" != 1 ]] || log_statements "$label"
  local finished parked calls checks outcomes
  IFS='|' read -r finished parked <<<"$(sql -c "SELECT count(*) FILTER (WHERE status IN ('CONFIRMED', 'CANCELLED')),
      count(*) FILTER (WHERE status = 'PARKED') FROM compensatord.transactions")"
  IFS='|' read -r calls checks <<<"$(sql -c "SELECT count(*) FILTER (WHERE action <> 'check'),
      count(*) FILTER (WHERE action = 'check') FROM compensatord.attempts")"
  outcomes=$(sql -c "SELECT string_agg(action || ' ' || outcome || ': ' || c, ', ' ORDER BY action, outcome)
      FROM (SELECT action, outcome, count(*) AS c FROM compensatord.attempts GROUP BY 1, 2) o")
  drain_txn_s=$(per_second "$finished" "$drain_seconds")
  drain_calls_s=$(per_second "$calls" "$drain_seconds")
  drain_hwm_mib=$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')
  log "  $label: $finished of $count finished ($parked parked) in $drain_seconds s = $drain_txn_s txn/s," \
    "$calls calls = $drain_calls_s calls/s, $checks checks; peak RSS $drain_hwm_mib MiB"
  log "  $label attempts: $outcomes"
  drain_cpu=$(cpu_per_txn "$work/$label-cpu-before.txt" "$finished")
  log "  $label CPU per transaction: $drain_cpu"
  [[ -f "$work/$label-metrics.txt" ]] &&
    log "  $label reconcile stages (mean, first replica, last scrape): $(stage_means "$work/$label-metrics.txt")"
  ((finished == count || stop_after > 0)) ||
    log "  warning: $((count - finished)) transactions did not finish (see $work/compensatord-$label-*.log)"
}

call_latency() {
  sql -c "SELECT coalesce(string_agg(format('%s p50 %s ms p99 %s ms', k, p50, p99), ', '), 'none') FROM (
      SELECT CASE action WHEN 'check' THEN 'check' ELSE 'call' END AS k,
             percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,
             percentile_disc(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99
      FROM compensatord.attempts GROUP BY 1 ORDER BY 1) l"
}

# --- stages -------------------------------------------------------------------------------------

wrk_rps=""
pg_tps=""
drain_median=""

stage_ceilings() {
  log "ceilings: wrk -t$wrk_threads -c$wrk_connections -d${ceiling_seconds}s against the stock cancel"
  restart_services 1
  wrk -t "$wrk_threads" -c "$wrk_connections" -d "${ceiling_seconds}s" --latency -s "$repo/bench/wrk/cancel.lua" \
    "$services_url" >"$work/wrk-cancel.log" 2>&1 || die "wrk failed: $(tail -n 5 "$work/wrk-cancel.log")"
  wrk_rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$work/wrk-cancel.log")
  local p50 p99 errors
  p50=$(awk '$1 == "50%" { print $2 }' "$work/wrk-cancel.log")
  p99=$(awk '$1 == "99%" { print $2 }' "$work/wrk-cancel.log")
  errors=$(grep -E 'Socket errors|timeout' "$work/wrk-cancel.log" || true)
  [[ -n "$wrk_rps" ]] || die "no Requests/sec in wrk's output: $(cat "$work/wrk-cancel.log")"
  log "  legacy-services: $wrk_rps cancel calls/s, latency p50 $p50 p99 $p99${errors:+ ($errors)}"
  add ceilings "participant cancel calls/s (wrk)" "$wrk_rps" "-t$wrk_threads -c$wrk_connections ${ceiling_seconds}s; p50 $p50 p99 $p99"

  log "ceilings: pgbench -N -c$pgbench_clients -T$ceiling_seconds (fsync=$(sql -c 'SHOW fsync'))"
  sql -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS bench_pgbench' -c 'CREATE DATABASE bench_pgbench'
  local pgbench_dsn=${dsn%/*}/bench_pgbench
  pgbench -i -q -s 10 "$pgbench_dsn" >"$work/pgbench-init.log" 2>&1 || die "pgbench -i failed: $(tail -n 5 "$work/pgbench-init.log")"
  pgbench -N -c "$pgbench_clients" -j 2 -T "$ceiling_seconds" "$pgbench_dsn" >"$work/pgbench.log" 2>&1 ||
    die "pgbench failed: $(tail -n 5 "$work/pgbench.log")"
  pg_tps=$(awk '/^tps = / { printf "%.0f", $3 }' "$work/pgbench.log")
  [[ -n "$pg_tps" ]] || die "no tps in pgbench's output: $(cat "$work/pgbench.log")"
  log "  PostgreSQL: $pg_tps tps"
  add ceilings "PostgreSQL tps (pgbench -N, scale 10)" "$pg_tps" "-c$pgbench_clients -j2 ${ceiling_seconds}s, fsync=$(sql -c 'SHOW fsync')"
}

ceiling_ratio() {
  local txn_s=$1
  [[ -n "$wrk_rps" && -n "$pg_tps" ]] || {
    echo "n/a (no ceilings stage)"
    return
  }
  awk -v t="$txn_s" -v w="$wrk_rps" -v p="$pg_tps" 'BEGIN { c = w / 2 < p ? w / 2 : p
    printf "%.1f %% of %.0f (%s)", 100 * t / c, c, (w / 2 < p ? "calls/s / 2" : "pgbench tps") }'
}

# log_statements LABEL: the drain's statements by total execution time (PG_PROFILE=1).
log_statements() {
  sql -F ' | ' -c "SELECT round(total_exec_time)::bigint AS ms, calls, rows,
      left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements
      ORDER BY total_exec_time DESC" >"$work/$1-statements.txt"
  log "  $1 statements (ms | calls | rows | text), the 8 longest of $(wc -l <"$work/$1-statements.txt"):"
  head -n 8 "$work/$1-statements.txt" | while IFS= read -r line; do log "    $line"; done
}

stage_drain() {
  local r txns=() calls=() latencies=""
  for ((r = 1; r <= drain_repeats; r++)); do
    log "drain $r/$drain_repeats: seeding N=$n (workers $workers, batch $batch, max_in_flight $max_in_flight, check connections ${check_connections:-default}, lease $lease)"
    seed "d$r-" "$n"
    drain "drain-$r" "$n" 1 "$workers" "$max_in_flight"
    txns+=("$drain_txn_s")
    calls+=("$drain_calls_s")
    latencies=$(call_latency)
    log "  drain-$r latency: $latencies"
  done
  drain_median=$(echo "${txns[*]}" | median)
  local calls_median
  calls_median=$(echo "${calls[*]}" | median)
  local how="N=$n, median of ${txns[*]}; workers $workers, batch $batch, max_in_flight $max_in_flight"
  add drain "txn/s (run --until-idle)" "$drain_median" "$how"
  add drain "participant calls/s" "$calls_median" "median of ${calls[*]}"
  add drain "ratio to the ceiling" "$(ceiling_ratio "$drain_median")" "min(cancel calls/s / 2, pgbench tps)"
  add drain "latency of the last run (attempts)" "see how" "$latencies"
}

# Writes begin_transaction calls to stdout, paced to RATE per second for SECONDS, in ticks of
# 50 ms; half of the orders (COMMITTED_PCT) get their order row right after, as an order
# service that commits would. psql executes each statement as it arrives.
arrivals() {
  local prefix=$1 rate=$2 seconds=$3 total sent=0 target start
  total=$((rate * seconds))
  start=$(now_us)
  while ((sent < total)); do
    target=$(((($(now_us) - start) * rate) / 1000000))
    ((target > total)) && target=$total
    if ((target > sent)); then
      cat <<SQL
SELECT count(*) FROM (SELECT compensatord.begin_transaction('$prefix' || g, 'order', jsonb_build_array(
  jsonb_build_object('participant', 'stock', 'fields', jsonb_build_object('sku', 'SKU-' || (g % $skus + 1), 'qty', 1)),
  jsonb_build_object('participant', 'coupon', 'fields', jsonb_build_object('coupon_id', 'CPN-' || g))),
  interval '$latency_timeout s') FROM generate_series($((sent + 1)), $target) g) begun;
INSERT INTO demo_orders (order_no, sku, qty, coupon_id) SELECT '$prefix' || g, 'SKU-' || (g % $skus + 1), 1, 'CPN-' || g
FROM generate_series($((sent + 1)), $target) g WHERE g % 100 < $committed_pct;
SQL
      sent=$target
    fi
    sleep 0.05
  done
}

stage_latency() {
  local rate=${LATENCY_RATE:-}
  if [[ -z "$rate" ]]; then
    if [[ -n "$drain_median" && "$drain_median" != n/a ]]; then rate=$((drain_median / 2)); else rate=150; fi
  fi
  ((rate > 0)) || rate=1
  local total=$((rate * latency_seconds)) start
  log "latency: $rate transactions/s for $latency_seconds s (due ${latency_timeout} s after begin) against run"
  restart_services "$total"
  reset_state
  seed_locks "lat-" "$total"
  write_config "$work/latency.yaml" bench-latency "$workers" "$max_in_flight" 0
  start_daemon "$work/latency.yaml" "$work/compensatord-latency.log"
  local pid=$daemon_pid
  wait_for_http "http://$daemon_metrics/healthz" "$pid" "$work/compensatord-latency.log"
  start=$(now_us)
  arrivals "lat-" "$rate" "$latency_seconds" | psql "$dsn" -Xq -v ON_ERROR_STOP=1 >/dev/null 2>"$work/arrivals.log" ||
    die "the arrival inserter failed: $(tail -n 5 "$work/arrivals.log")"
  local arrival_s finished
  arrival_s=$(seconds_since "$start")
  log "  inserted $total in $arrival_s s; waiting for the last ones to resolve"
  for _ in $(seq 1 600); do
    finished=$(sql -c "SELECT count(*) FROM compensatord.transactions WHERE finished_at IS NOT NULL")
    ((finished >= total)) && break
    kill -0 "$pid" 2>/dev/null || die "compensatord exited during the latency stage: $(tail -n 5 "$work/compensatord-latency.log")"
    sleep 0.1
  done
  stop_pid "$pid"
  local row p50 p99 max
  row=$(sql -c "SELECT count(finished_at),
      round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - due_at))),
      round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - due_at))),
      round(1000 * max(extract(epoch FROM finished_at - due_at)))
    FROM compensatord.transactions")
  IFS='|' read -r finished p50 p99 max <<<"$row"
  log "  due -> resolved: p50 $p50 ms, p99 $p99 ms, max $max ms ($finished of $total resolved)"
  add latency "due -> resolved p50 / p99" "$p50 ms / $p99 ms" "$rate txn/s for ${latency_seconds}s ($arrival_s s), $finished of $total resolved, max $max ms"
}

stage_sweep() {
  local w m
  for w in $sweep_workers; do
    for m in $sweep_max_in_flight; do
      log "sweep: workers $w, max_in_flight $m, N=$sweep_n"
      seed "s$w-$m-" "$sweep_n"
      drain "sweep-$w-$m" "$sweep_n" 1 "$w" "$m"
      add sweep "txn/s workers $w max_in_flight $m" "$drain_txn_s" "N=$sweep_n, batch $batch, $drain_seconds s"
    done
  done
}

stage_rss() {
  if ((big_n == 0)); then
    log "rss: skipped (BIG_N=0)"
    return
  fi
  # No locks: a million lock calls would take minutes and hold ~0.5 GB in legacy-services. Every
  # transaction is cancelled (none committed), so every call is an empty rollback the participant
  # answers 404 code 1001 (not_found -> done): a real HTTP round trip, a tombstone on its side.
  log "rss: seeding BIG_N=$big_n due transactions, all cancelled as empty rollbacks (no locks)"
  restart_services 1
  reset_state
  seed_rows "big-" "$big_n" 0
  local how="BIG_N=$big_n, workers $workers, max_in_flight $max_in_flight"
  ((rss_seconds > 0)) && how+=", stopped after $rss_seconds s"
  drain rss "$big_n" 1 "$workers" "$max_in_flight" "$rss_seconds"
  add rss "peak RSS (VmHWM) draining" "$drain_hwm_mib MiB" "$how, at $drain_txn_s txn/s"
}

stage_replicas() {
  local one two
  log "replicas: 1 replica, N=$replicas_n (workers $workers, max_in_flight $replica_max_in_flight each)"
  seed "r1-" "$replicas_n"
  drain replicas-1 "$replicas_n" 1 "$workers" "$replica_max_in_flight"
  one=$drain_txn_s
  log "replicas: 2 replicas, N=$replicas_n"
  seed "r2-" "$replicas_n"
  drain replicas-2 "$replicas_n" 2 "$workers" "$replica_max_in_flight"
  two=$drain_txn_s
  local how="N=$replicas_n; workers $workers, max_in_flight $replica_max_in_flight per replica"
  add replicas "txn/s 1 replica / 2 replicas" "$one / $two" "$how"
}

stage_kafka() {
  local bootstrap_file="$work/kafka.bootstrap" start produced_s
  log "kafka: starting kafka-broker (order-checks:$kafka_partitions)"
  "$kafka_broker" --topic "order-checks:$kafka_partitions" --topic order-checks-dlq \
    --bootstrap-file "$bootstrap_file" >"$work/kafka-broker.log" 2>&1 &
  local broker_pid=$!
  started+=("$broker_pid")
  for _ in $(seq 1 100); do
    [[ -s "$bootstrap_file" ]] && break
    sleep 0.1
  done
  [[ -s "$bootstrap_file" ]] || die "kafka-broker wrote no bootstrap file: $(tail -n 5 "$work/kafka-broker.log")"
  kafka_brokers=$(<"$bootstrap_file")
  # Due in an hour: the stage measures ingestion only, the reconciler has nothing to do.
  log "  producing $kafka_n check messages with kcat"
  awk -v n="$kafka_n" -v skus="$skus" 'BEGIN { for (i = 1; i <= n; i++)
    printf "kafka-%d\t{\"xid\":\"kafka-%d\",\"kind\":\"order\",\"branches\":[{\"participant\":\"stock\",\"fields\":{\"sku\":\"SKU-%d\",\"qty\":1}},{\"participant\":\"coupon\",\"fields\":{\"coupon_id\":\"CPN-%d\"}}],\"delay\":\"1h\"}\n", i, i, i % skus + 1, i }' \
    >"$work/kafka-messages.tsv"
  start=$(now_us)
  kcat -b "$kafka_brokers" -P -t order-checks -K $'\t' -l "$work/kafka-messages.tsv" 2>"$work/kcat.log" ||
    die "kcat failed: $(tail -n 5 "$work/kcat.log")"
  produced_s=$(seconds_since "$start")
  log "  produced in $produced_s s"
  restart_services 1
  reset_state
  write_config "$work/kafka.yaml" bench-kafka "$workers" "$max_in_flight" 1
  start=$(now_us)
  start_daemon "$work/kafka.yaml" "$work/compensatord-kafka.log"
  local pid=$daemon_pid rows=0 first_us="" deadline=$((kafka_timeout * 1000000))
  while ((rows < kafka_n && $(now_us) - start < deadline)); do
    kill -0 "$pid" 2>/dev/null || die "compensatord exited during the kafka stage: $(tail -n 5 "$work/compensatord-kafka.log")"
    sleep 0.2
    rows=$(sql -c "SELECT count(*) FROM compensatord.transactions WHERE source LIKE 'kafka:%'")
    [[ -z "$first_us" ]] && ((rows > 0)) && first_us=$(now_us)
  done
  local total_s from_first_s
  total_s=$(seconds_since "$start")
  from_first_s=$([[ -n "$first_us" ]] && seconds_since "$first_us" || echo 0)
  stop_pid "$pid"
  local rate_all rate_first
  rate_all=$(per_second "$rows" "$total_s")
  rate_first=$(per_second "$rows" "$from_first_s")
  log "  $rows of $kafka_n rows in $total_s s from the daemon's start ($rate_all msg/s), $from_first_s s from the first row ($rate_first msg/s)"
  add kafka "ingest msg/s (from the first row)" "$rate_first" "$rows of $kafka_n in $from_first_s s; $kafka_partitions partitions"
  add kafka "ingest msg/s (from the daemon's start)" "$rate_all" "$total_s s, group join included"
}

# field NAME LINE: the value of NAME=value in retention_bench's result line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

stage_retention() {
  log "retention: $retention_history finished transactions purged while $retention_threads threads claim" \
    "(batch_size $retention_batch_size, pause $retention_pause_ms ms, slices of $retention_slice_seconds s)"
  reset_state
  local line
  line=$("$retention_bench" --dsn "$dsn" --history "$retention_history" --threads "$retention_threads" \
    --slice-seconds "$retention_slice_seconds" --batch-size "$retention_batch_size" \
    --pause-ms "$retention_pause_ms" 2>"$work/retention-bench.log" | tail -n 1) ||
    die "retention_bench failed: $(tail -n 5 "$work/retention-bench.log") $line"
  log "  $line"
  local claims
  claims="$retention_threads threads claiming $(field claim "$line") and writing back"
  add retention "claim p50 / p99, idle slices" \
    "$(field idle_p50_ms "$line") ms / $(field idle_p99_ms "$line") ms" \
    "$(field idle_claims "$line") claims; $claims"
  add retention "claim p50 / p99, purging slices" \
    "$(field purge_p50_ms "$line") ms / $(field purge_p99_ms "$line") ms" \
    "$(field purge_claims "$line") claims in $(field slices "$line") slices of ${retention_slice_seconds}s"
  add retention "claim ratio p50 / p99 (target <= 1.20)" \
    "$(field p50_ratio "$line") / $(field p99_ratio "$line")" "purging / idle"
  add retention "purged transactions/s" "$(field purged_per_s "$line")" \
    "$(field purged "$line") of $retention_history in $(field purge_s "$line") s, $(field purge_batches "$line") batches"
}

main() {
  local stage
  for stage in $stages; do
    case "$stage" in
      ceilings | drain | latency | sweep | rss | replicas | kafka | retention) ;;
      *) die "unknown stage '$stage' (known: ceilings drain latency sweep rss replicas kafka retention)" ;;
    esac
  done
  check_tools
  log "stages: $stages; N=$n BIG_N=$big_n; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
  start_pg
  restart_services 1
  write_config "$work/migrate.yaml" bench-migrate "$workers" "$max_in_flight" 0
  DEMO_SERVICES_URL=$services_url DEMO_DSN=$dsn DEMO_DAEMON_LISTEN=127.0.0.1:1 DEMO_METRICS_LISTEN=127.0.0.1:1 \
    "$compensatord" migrate --config "$work/migrate.yaml" >"$work/migrate.log" 2>&1 ||
    die "compensatord migrate failed: $(tail -n 5 "$work/migrate.log")"
  for stage in ceilings drain latency sweep rss replicas kafka retention; do
    [[ " $stages " == *" $stage "* ]] && "stage_$stage"
  done
  log "done; load $(cut -d' ' -f1-3 /proc/loadavg)"
  print_summary
}

main "$@"
