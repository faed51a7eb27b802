#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and the demo: initdb into DIR/data, listen on
# 127.0.0.1 only at a free random port, unix socket inside DIR, durability off (it is
# thrown away anyway). Writes the DSN to DIR/dsn and prints it.
#
#   throwaway-pg.sh start DIR   # (re)creates the cluster in DIR
#   throwaway-pg.sh stop DIR    # stops it and removes DIR; idempotent
#
#   THROWAWAY_PG_DURABLE=1          keep fsync, synchronous_commit and full_page_writes at
#                                   PostgreSQL's defaults (on), as a production server runs
#                                   (bench/throughput.sh); default 0: all three off
#   THROWAWAY_PG_MAX_CONNECTIONS=N  max_connections (default 200)
set -euo pipefail

readonly marker_name=".throwaway-pg"

die() {
  echo "throwaway-pg: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]] ||
    die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (install the postgresql package)"
  echo "$dir"
}

# The server refuses to run as root: when root, run it as the postgres user.
as_server_user() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

random_free_port() {
  local port tries
  for tries in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  die "no free port found on 127.0.0.1 after 50 tries"
}

stop_cluster() {
  local dir=$1 bindir
  [[ -e "$dir" ]] || return 0
  [[ -f "$dir/$marker_name" ]] || die "refusing to remove $dir: it is not a throwaway-pg directory (no $marker_name)"
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    bindir=$(pg_bindir)
    as_server_user "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 ||
      echo "throwaway-pg: pg_ctl stop failed for $dir/data (already stopped?); removing anyway" >&2
  fi
  rm -rf -- "$dir"
}

prepare_dir() {
  local dir=$1
  mkdir -p -- "$dir" || die "cannot create $dir"
  touch "$dir/$marker_name"
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user to run the server as"
    chown -R postgres: "$dir"
    runuser -u postgres -- test -w "$dir" ||
      die "the postgres user cannot write $dir (check the permissions of its parent directories)"
  fi
}

server_options() {
  local dir=$1 port=$2 options
  options="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir'"
  options+=" -c max_connections=${THROWAWAY_PG_MAX_CONNECTIONS:-200}"
  if [[ "${THROWAWAY_PG_DURABLE:-0}" != 1 ]]; then
    options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  echo "$options"
}

start_server() {
  local dir=$1 bindir=$2 port=$3
  as_server_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
    -o "$(server_options "$dir" "$port")" start >/dev/null
}

start_cluster() {
  local dir=$1 bindir port attempt
  bindir=$(pg_bindir)
  stop_cluster "$dir"
  prepare_dir "$dir"
  as_server_user "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale \
    >"$dir/initdb.log" 2>&1 || die "initdb failed in $dir/data; see $dir/initdb.log: $(tail -n 5 "$dir/initdb.log")"
  # A random port can be taken between the probe and the bind: retry a few times.
  for attempt in 1 2 3 4 5; do
    port=$(random_free_port)
    if start_server "$dir" "$bindir" "$port"; then
      echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$dir/dsn"
      cat "$dir/dsn"
      return 0
    fi
  done
  die "the server did not start in $dir/data; last lines of $dir/postgres.log: $(tail -n 5 "$dir/postgres.log" 2>/dev/null)"
}

main() {
  [[ $# -eq 2 ]] || usage
  local command=$1 dir=$2
  [[ -n "$dir" && "$dir" != "/" ]] || die "DIR must be a non-empty path other than /"
  dir=$(realpath -m -- "$dir")
  case "$command" in
    start) start_cluster "$dir" ;;
    stop) stop_cluster "$dir" ;;
    *) usage ;;
  esac
}

main "$@"
