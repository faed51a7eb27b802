#!/usr/bin/env bash
# The throwaway PostgreSQL from a checkout under a 0700 directory (root's home, a mktemp -d
# folder): the cluster starts and accepts connections, DIR holds only the DSN and a pointer, a
# crashed run's leftovers (a killed server, a removed DIR) do not break the next start, and stop
# removes the cluster directory.
#   throwaway_pg_test.sh THROWAWAY_PG_SCRIPT
set -euo pipefail

throwaway_pg=$1
private=$(mktemp -d "${TMPDIR:-/tmp}/throwaway-pg-test.XXXXXX")
dir="$private/checkout/build/test-pg"
orphan_dir="$private/other-checkout/build/test-pg"

cleanup() {
  "$throwaway_pg" stop "$dir" >/dev/null 2>&1 || true
  "$throwaway_pg" stop "$orphan_dir" >/dev/null 2>&1 || true
  rm -rf -- "$private"
}
trap cleanup EXIT

fail() {
  echo "throwaway-pg-test: FAIL: $*" >&2
  exit 1
}

# Fails unless the cluster of DSN answers a query over TCP.
expect_connection() {
  local answer
  answer=$(psql "$1" -X -A -t -c "SELECT 40 + 2") || fail "no connection to $1"
  [[ "$answer" == 42 ]] || fail "$1 answered '$answer' to SELECT 40 + 2"
}

postmaster_pid() {
  head -n 1 "$1/data/postmaster.pid"
}

chmod 0700 "$private"
echo "throwaway-pg-test: starting under $private (mode $(stat -c %a "$private"), user $(id -un))"
dsn=$("$throwaway_pg" start "$dir" | tail -n 1)
expect_connection "$dsn"
first_cluster=$(cat "$dir/cluster")
[[ "$first_cluster" != "$private"/* ]] || fail "the cluster directory $first_cluster is inside the private directory"
[[ $(stat -c %a "$first_cluster") == 755 ]] || fail "$first_cluster has mode $(stat -c %a "$first_cluster"), not 755"
port=${dsn##*:}
port=${port%%/*}
[[ -S "$first_cluster/.s.PGSQL.$port" ]] || fail "no unix socket in $first_cluster"
expect_connection "postgresql://postgres@/postgres?host=$first_cluster&port=$port"
[[ "$(ls -A "$dir" | sort | tr '\n' ' ')" == ".throwaway-pg cluster dsn " ]] ||
  fail "$dir holds more than the DSN and the pointer: $(ls -A "$dir")"

echo "throwaway-pg-test: a killed server leaves its cluster behind; the next start replaces it"
kill -KILL "$(postmaster_pid "$first_cluster")"
dsn=$("$throwaway_pg" start "$dir" | tail -n 1)
expect_connection "$dsn"
[[ ! -e "$first_cluster" ]] || fail "the crashed run's $first_cluster was not removed"

echo "throwaway-pg-test: a running cluster whose DIR was removed is swept by the next start"
"$throwaway_pg" start "$orphan_dir" >/dev/null
orphan_cluster=$(cat "$orphan_dir/cluster")
orphan_pid=$(postmaster_pid "$orphan_cluster")
rm -rf -- "$orphan_dir"
touch -d '5 minutes ago' "$orphan_cluster/owner"
second_cluster=$(cat "$dir/cluster")
dsn=$("$throwaway_pg" start "$dir" | tail -n 1)
expect_connection "$dsn"
[[ ! -e "$orphan_cluster" ]] || fail "the orphaned $orphan_cluster was not removed"
# pg_ctl stop -w returns once the server removed its pid file; the process itself may take a
# moment longer to exit (and to be reaped): allow it 10 s.
for _ in $(seq 100); do
  kill -0 "$orphan_pid" 2>/dev/null || break
  sleep 0.1
done
! kill -0 "$orphan_pid" 2>/dev/null || fail "the orphaned server (pid $orphan_pid) still runs"
[[ ! -e "$second_cluster" ]] || fail "restarting did not remove the previous $second_cluster"

echo "throwaway-pg-test: stop removes DIR and the cluster directory, and is idempotent"
last_cluster=$(cat "$dir/cluster")
"$throwaway_pg" stop "$dir"
[[ ! -e "$dir" ]] || fail "stop left $dir"
[[ ! -e "$last_cluster" ]] || fail "stop left $last_cluster"
"$throwaway_pg" stop "$dir" || fail "a second stop failed"
echo "throwaway-pg-test: passed"
