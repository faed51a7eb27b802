#!/usr/bin/env bash
# The container image, built (scripts/image.sh) and run with buildah: --help; check-config on the
# config the Helm chart renders; run --until-idle against the throwaway PostgreSQL over the host
# network, finishing a committed and an abandoned order; user 10001, the binary as entrypoint, no
# compiler in the runtime stage. Prints the build time and the image size.
#   image_test.sh REPO LEGACY_SERVICES_BINARY   (COMPENSATORD_TEST_PG_DSN_FILE: the pg_cluster fixture)
set -euo pipefail

repo=$1
legacy_services=$2
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot
# validate.mjs finds its npm modules there too.
export CHART_TOOLS_DIR=${CHART_TOOLS_DIR:-$repo/.chart-tools}
helm="$CHART_TOOLS_DIR/bin/helm"
binary=/usr/local/bin/compensatord

fail() {
  echo "image-test: FAIL: $*" >&2
  exit 1
}

[[ -x "$helm" ]] || fail "$helm not found: run scripts/install-chart-tools.sh"
[[ -x "$legacy_services" ]] || fail "$legacy_services not found: build the legacy-services target"
cluster_dsn=$(head -n 1 "${COMPENSATORD_TEST_PG_DSN_FILE:?run through ctest (fixture pg_cluster)}")
database="image_test_$$"
dsn="${cluster_dsn%/*}/$database"

work=$(mktemp -d "${TMPDIR:-/tmp}/image-test.XXXXXX")
chmod 0755 "$work" # mounted into the container, read there by user 10001
container=""
services_pid=""
cleanup() {
  [[ -z "$services_pid" ]] || kill "$services_pid" 2>/dev/null || true
  [[ -z "$container" ]] || buildah rm "$container" >/dev/null 2>&1 || true
  psql "$cluster_dsn" -X -q -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf -- "$work"
}
trap cleanup EXIT

in_image() {
  buildah run --network host --volume "$work:/work:ro" "$container" -- "$@"
}

# shellcheck source=../../scripts/lib/free-port.sh
source "$repo/scripts/lib/free-port.sh"

sql() {
  psql "$dsn" -X -A -t -v ON_ERROR_STOP=1 -c "$1"
}

echo "image-test: building"
started=$SECONDS
image=$(bash "$repo/scripts/image.sh" | tail -n 1)
echo "image-test: scripts/image.sh took $((SECONDS - started)) s"
container=$(buildah from --pull=never "$image")

echo "image-test: configuration: user 10001, the binary as entrypoint"
user=$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$image")
[[ "$user" == 10001:10001 ]] || fail "the image's user is '$user', not 10001:10001"
[[ "$(in_image id -u)" == 10001 ]] || fail "buildah run does not run as uid 10001"
# buildah 1.28's templates have no json function: a list prints as [a b].
entrypoint=$(buildah inspect --type image --format '{{.OCIv1.Config.Entrypoint}}' "$image")
[[ "$entrypoint" == "[$binary]" ]] || fail "the entrypoint is $entrypoint, not [$binary]"

echo "image-test: no compiler in the runtime stage"
compilers=$(in_image sh -c 'command -v cc gcc g++ c++ cpp clang ld as make || true')
[[ -z "$compilers" ]] || fail "the runtime stage holds build tools: $compilers"
# shellcheck disable=SC2016 # dpkg-query's format fields, not expansions
packages=$(in_image dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}')
if grep -E '^(gcc|g\+\+|cpp|clang|binutils|build-essential|cmake)(-[0-9.]+)?$' <<<"$packages"; then
  fail "the runtime stage holds compiler packages"
fi

echo "image-test: --help"
help=$(in_image "$binary" --help) || fail "--help failed: $help"
for command in run check-config migrate; do
  grep -q "$command" <<<"$help" || fail "--help does not name $command: $help"
done

echo "image-test: check-config on the chart's rendered config"
"$helm" template compensatord "$repo/charts/compensatord" --namespace shop >"$work/rendered.yaml" 2>/dev/null
node "$repo/tests/chart/validate.mjs" "$work/rendered.yaml" "$work" >/dev/null
[[ -f "$work/config.yaml" ]] || fail "the chart rendered no config"
chmod 0644 "$work/config.yaml"
# In the cluster ${NAME} comes from a Secret; here from a placeholder.
# shellcheck disable=SC2016 # a literal ${NAME}, not an expansion
mapfile -t placeholders < <(grep -o '\${[A-Za-z_][A-Za-z0-9_]*}' "$work/config.yaml" | sort -u | tr -d '${}' | sed 's/$/=placeholder/')
in_image env "${placeholders[@]}" "$binary" check-config /work/config.yaml >"$work/check-config.log" 2>&1 ||
  fail "check-config rejects the chart's config: $(cat "$work/check-config.log")"

echo "image-test: run --until-idle against the throwaway PostgreSQL"
psql "$cluster_dsn" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $database"
services="127.0.0.1:$(free_port)"
"$legacy_services" --listen "$services" --order-dsn "$dsn" --skus 1 --stock-per-sku 10 --coupons 1 \
  >"$work/legacy-services.log" 2>&1 &
services_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://$services/healthz" >/dev/null && break
  kill -0 "$services_pid" 2>/dev/null || fail "legacy-services exited: $(cat "$work/legacy-services.log")"
  sleep 0.1
done
cat >"$work/run.yaml" <<CONFIG
replica_id: image-test
database: {dsn: "$dsn"}
reconciler: {poll_interval: 100ms, lease: 10s, shutdown_grace: 5s}
retry: {initial_backoff: 100ms, max_backoff: 1s, max_attempts: 20}
http: {listen: "127.0.0.1:$(free_port)"}
metrics: {listen: "127.0.0.1:$(free_port)"}
kinds:
  order:
    timeout: 1s
    check: {sql: {dsn: "$dsn", query: "SELECT 1 FROM demo_orders WHERE order_no = \$1"}}
participants:
  stock:
    base_url: "http://$services"
    timeout: 2s
    actions:
      confirm:
        method: POST
        path: /api/stock/confirm/{{xid}}
        body: {orderNo: "{{xid}}", sku: "{{branch.sku}}", qty: "{{branch.qty}}"}
        outcomes: [{status: [200], json: {code: 0}, then: done}, {status: [200], json: {code: 1002}, then: already_done}]
      cancel:
        method: POST
        path: /api/stock/rollback/{{xid}}
        body: {orderNo: "{{xid}}", sku: "{{branch.sku}}", qty: "{{branch.qty}}"}
        outcomes: [{status: [200], json: {code: 0}, then: done}, {status: [200], json: {code: 1002}, then: already_done}]
CONFIG
chmod 0644 "$work/run.yaml"
in_image "$binary" migrate --config /work/run.yaml >"$work/migrate.log" 2>&1 || fail "migrate: $(cat "$work/migrate.log")"
# Both orders locked stock and are due at once: one committed (its order row exists), one abandoned.
for xid in IMG-COMMITTED IMG-ABANDONED; do
  sql "SELECT compensatord.begin_transaction('$xid', 'order', '[{\"participant\": \"stock\", \"fields\": {\"sku\": \"SKU-1\", \"qty\": 1}}]', interval '0 seconds')" >/dev/null
  curl -fs -X POST -H 'Content-Type: application/json' "http://$services/api/stock/lock" \
    -d "{\"orderNo\": \"$xid\", \"sku\": \"SKU-1\", \"qty\": 1}" >/dev/null || fail "locking stock for $xid"
done
sql "INSERT INTO demo_orders (order_no, sku, qty) VALUES ('IMG-COMMITTED', 'SKU-1', 1)" >/dev/null
timeout 120 buildah run --network host --volume "$work:/work:ro" "$container" -- \
  "$binary" run --config /work/run.yaml --until-idle >"$work/run.log" 2>&1 || fail "run --until-idle: $(tail -n 20 "$work/run.log")"
statuses=$(sql "SELECT string_agg(xid || '=' || status, ' ' ORDER BY xid) FROM compensatord.transactions")
[[ "$statuses" == "IMG-ABANDONED=CANCELLED IMG-COMMITTED=CONFIRMED" ]] ||
  fail "after run --until-idle: $statuses; log: $(tail -n 20 "$work/run.log")"

echo "image-test: $image is $(buildah images --format '{{.Size}}' "$image" | head -n 1)"
echo "image-test: passed"
