#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and the demo: listens on 127.0.0.1 only at a free
# random port, durability off (it is thrown away anyway).
#
#   throwaway-pg.sh start DIR   # (re)creates the cluster; writes DIR/dsn and prints the DSN
#   throwaway-pg.sh stop DIR    # stops it and removes DIR and the cluster directory; idempotent
#   throwaway-pg.sh restart DIR # pg_ctl restart -m immediate: the server dies without a shutdown
#                               # and recovers from its WAL, as after a crash (scripts/chaos.sh)
#   throwaway-pg.sh pause DIR   # stops the server at once (-m immediate), keeping data and port
#   throwaway-pg.sh resume DIR  # starts a paused server again, on its port with its options
#
# DIR (usually under the build folder) holds only the DSN (DIR/dsn) and a pointer (DIR/cluster)
# to the cluster directory: data, unix socket and logs live in a directory of their own, made by
# mktemp under THROWAWAY_PG_TMPDIR (default /tmp, not $TMPDIR, which may be private), mode 0755.
# As root the server runs as the postgres user, which cannot pass through a 0700 directory such
# as root's home: this way DIR may be anywhere.
#
#   THROWAWAY_PG_DURABLE=1          keep fsync, synchronous_commit and full_page_writes at
#                                   PostgreSQL's defaults (on), as a production server runs
#                                   (bench/throughput.sh); default 0: all three off
#   THROWAWAY_PG_MAX_CONNECTIONS=N  max_connections (default 200)
#   THROWAWAY_PG_PRELOAD=LIBS       shared_preload_libraries, e.g. pg_stat_statements,auto_explain
#                                   (default none; bench/throughput.sh's PG_PROFILE=1)
set -euo pipefail

readonly marker_name=".throwaway-pg"
readonly cluster_marker_name=".throwaway-pg-cluster"
tmp_root=$(realpath -m -- "${THROWAWAY_PG_TMPDIR:-/tmp}")
readonly tmp_root

die() {
  echo "throwaway-pg: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start|stop|restart|pause|resume DIR" >&2
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

# shellcheck source=lib/free-port.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/free-port.sh"

# Stops the server of a cluster directory (if one runs) and removes the directory.
remove_cluster_dir() {
  local cluster=$1 bindir
  [[ -e "$cluster" ]] || return 0
  [[ -f "$cluster/$cluster_marker_name" || -f "$cluster/$marker_name" ]] ||
    die "refusing to remove $cluster: it is not a throwaway-pg cluster directory"
  if [[ -f "$cluster/data/postmaster.pid" ]]; then
    bindir=$(pg_bindir)
    as_server_user "$bindir/pg_ctl" -D "$cluster/data" -m fast -w stop >/dev/null 2>&1 ||
      echo "throwaway-pg: pg_ctl stop failed for $cluster/data (already stopped?); removing anyway" >&2
  fi
  rm -rf -- "$cluster"
}

stop_cluster() {
  local dir=$1
  [[ -e "$dir" ]] || return 0
  [[ -f "$dir/$marker_name" ]] || die "refusing to remove $dir: it is not a throwaway-pg directory (no $marker_name)"
  if [[ -s "$dir/cluster" ]]; then
    remove_cluster_dir "$(cat "$dir/cluster")"
  fi
  # Before the cluster moved out of DIR, data lived in DIR/data: stop such a leftover too.
  remove_cluster_dir "$dir"
}

# Cluster directories whose DIR is gone or points elsewhere (a run killed before its stop, a build
# folder removed under a running cluster): stopped and removed. Only those older than two minutes,
# so that a cluster another run is starting right now is left alone.
sweep_orphans() {
  local cluster owner
  for cluster in "$tmp_root"/throwaway-pg.*; do
    [[ -f "$cluster/$cluster_marker_name" && -O "$cluster/owner" ]] || continue
    [[ -n $(find "$cluster/owner" -mmin +2 2>/dev/null) ]] || continue
    owner=$(cat "$cluster/owner")
    if [[ ! -f "$owner/cluster" || "$(cat "$owner/cluster")" != "$cluster" ]]; then
      echo "throwaway-pg: removing the orphaned cluster $cluster (its $owner is gone)" >&2
      remove_cluster_dir "$cluster" || true
    fi
  done
}

# Makes the cluster directory, records it in DIR/cluster, and prints its path.
make_cluster_dir() {
  local dir=$1 cluster
  [[ -d "$tmp_root" ]] || die "THROWAWAY_PG_TMPDIR=$tmp_root is not a directory"
  cluster=$(mktemp -d "$tmp_root/throwaway-pg.XXXXXX") || die "cannot create a directory under $tmp_root"
  chmod 0755 "$cluster"
  touch "$cluster/$cluster_marker_name"
  echo "$dir" >"$cluster/owner"
  echo "$cluster" >"$dir/cluster"
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user to run the server as"
    chown postgres: "$cluster"
    runuser -u postgres -- test -w "$cluster" ||
      die "the postgres user cannot write $cluster (set THROWAWAY_PG_TMPDIR to a directory it can reach)"
  fi
  echo "$cluster"
}

server_options() {
  local dir=$1 port=$2 options
  options="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$dir'"
  options+=" -c max_connections=${THROWAWAY_PG_MAX_CONNECTIONS:-200}"
  [[ -z "${THROWAWAY_PG_PRELOAD:-}" ]] || options+=" -c shared_preload_libraries=$THROWAWAY_PG_PRELOAD"
  if [[ "${THROWAWAY_PG_DURABLE:-0}" != 1 ]]; then
    options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  echo "$options"
}

# Refuses settings that would not make a server, before anything is created.
check_settings() {
  [[ -z "${THROWAWAY_PG_PRELOAD:-}" || "$THROWAWAY_PG_PRELOAD" =~ ^[a-z0-9_]+(,[a-z0-9_]+)*$ ]] ||
    die "THROWAWAY_PG_PRELOAD must be library names separated by commas, not '$THROWAWAY_PG_PRELOAD'"
}

start_server() {
  local cluster=$1 bindir=$2 port=$3
  # resume starts the server again with exactly these options, whatever its caller's environment.
  server_options "$cluster" "$port" >"$cluster/options"
  as_server_user "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/postgres.log" -w -t 30 \
    -o "$(cat "$cluster/options")" start >/dev/null
}

# The cluster directory of a running (or paused) DIR.
cluster_of() {
  local dir=$1
  [[ -f "$dir/$marker_name" && -s "$dir/cluster" ]] || die "$dir holds no throwaway-pg cluster (start it first)"
  cat "$dir/cluster"
}

restart_cluster() {
  local cluster
  cluster=$(cluster_of "$1")
  as_server_user "$(pg_bindir)/pg_ctl" -D "$cluster/data" -l "$cluster/postgres.log" -m immediate -w -t 60 \
    restart >/dev/null
}

pause_cluster() {
  local cluster
  cluster=$(cluster_of "$1")
  as_server_user "$(pg_bindir)/pg_ctl" -D "$cluster/data" -m immediate -w stop >/dev/null
}

resume_cluster() {
  local cluster
  cluster=$(cluster_of "$1")
  as_server_user "$(pg_bindir)/pg_ctl" -D "$cluster/data" -l "$cluster/postgres.log" -w -t 60 \
    -o "$(cat "$cluster/options")" start >/dev/null
}

start_cluster() {
  local dir=$1 bindir cluster port attempt
  check_settings
  bindir=$(pg_bindir)
  stop_cluster "$dir"
  sweep_orphans
  mkdir -p -- "$dir" || die "cannot create $dir"
  touch "$dir/$marker_name"
  cluster=$(make_cluster_dir "$dir")
  as_server_user "$bindir/initdb" -D "$cluster/data" -U postgres --auth=trust --encoding=UTF8 --no-locale \
    >"$cluster/initdb.log" 2>&1 ||
    die "initdb failed in $cluster/data; see $cluster/initdb.log: $(tail -n 5 "$cluster/initdb.log")"
  # A random port can be taken between the probe and the bind: retry a few times.
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if start_server "$cluster" "$bindir" "$port"; then
      echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$dir/dsn"
      cat "$dir/dsn"
      return 0
    fi
  done
  die "the server did not start in $cluster/data; last lines of $cluster/postgres.log: $(tail -n 5 "$cluster/postgres.log" 2>/dev/null)"
}

main() {
  [[ $# -eq 2 ]] || usage
  local command=$1 dir=$2
  [[ -n "$dir" && "$dir" != "/" ]] || die "DIR must be a non-empty path other than /"
  dir=$(realpath -m -- "$dir")
  # The server user may not reach the caller's working directory (root's home).
  cd /
  case "$command" in
    start) start_cluster "$dir" ;;
    stop) stop_cluster "$dir" ;;
    restart) restart_cluster "$dir" ;;
    pause) pause_cluster "$dir" ;;
    resume) resume_cluster "$dir" ;;
    *) usage ;;
  esac
}

main "$@"
