#!/usr/bin/env bash
# The Helm chart test: helm lint --strict and helm template for the default values and every
# charts/compensatord/ci/*.yaml; every rendered object validated against the Kubernetes and
# prometheus-operator schemas, hardened (no root) and free of secret values; the rendered config
# accepted by `compensatord check-config`; the PrometheusRule accepted by `promtool check rules`.
# Then the files of tests/chart/broken/ must each fail at the step they target.
#   chart_test.sh REPO COMPENSATORD_BINARY
# Tools: scripts/install-chart-tools.sh (CHART_TOOLS_DIR, default REPO/.chart-tools) and promtool.
set -euo pipefail

repo=$1
compensatord=$2
export CHART_TOOLS_DIR=${CHART_TOOLS_DIR:-$repo/.chart-tools}
helm="$CHART_TOOLS_DIR/bin/helm"
chart="$repo/charts/compensatord"
broken="$repo/tests/chart/broken"
validate="$repo/tests/chart/validate.mjs"

fail() {
  echo "chart-test: FAIL: $*" >&2
  exit 1
}

[[ -x "$helm" ]] || fail "$helm not found: run scripts/install-chart-tools.sh"
command -v promtool >/dev/null || fail "promtool not found: run scripts/install-deps.sh"
[[ -x "$compensatord" ]] || fail "$compensatord not found: build the compensatord target"

work=$(mktemp -d "${TMPDIR:-/tmp}/chart-test.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# helm notes every symlink it follows (files/ links into dashboards/): expected, not a problem.
quiet_helm() {
  local status=0
  "$helm" "$@" 2>"$work/helm.stderr" || status=$?
  grep -v 'found symbolic link in path' "$work/helm.stderr" >&2 || true
  return "$status"
}

# check-config resolves ${NAME}; in the cluster NAME comes from a Secret, here from a placeholder.
check_config() {
  local config=$1 name placeholders=()
  # shellcheck disable=SC2016 # a literal ${NAME}, not an expansion
  for name in $(grep -o '\${[A-Za-z_][A-Za-z0-9_]*}' "$config" | sort -u | tr -d '${}'); do
    placeholders+=("$name=placeholder-for-$name")  # distinct, and as long as an API token must be
  done
  env "${placeholders[@]}" "$compensatord" check-config "$config"
}

# Renders one values file (or the defaults) and runs every check on the result.
check_values() {
  local name=$1 out="$work/$1"
  shift
  mkdir -p "$out"
  echo "chart-test: $name"
  quiet_helm lint --strict "$chart" "$@" >"$out/lint.log" || { cat "$out/lint.log"; fail "$name: helm lint"; }
  quiet_helm template compensatord "$chart" --namespace shop "$@" >"$out/rendered.yaml" || fail "$name: helm template"
  node "$validate" "$out/rendered.yaml" "$out" || fail "$name: rendered objects"
  [[ -f "$out/config.yaml" ]] || fail "$name: no config ConfigMap rendered"
  check_config "$out/config.yaml" >"$out/check-config.log" 2>&1 ||
    { cat "$out/check-config.log"; fail "$name: compensatord check-config rejects the rendered config"; }
  if [[ -f "$out/rules.yaml" ]]; then
    promtool check rules "$out/rules.yaml" >"$out/promtool.log" 2>&1 ||
      { cat "$out/promtool.log"; fail "$name: promtool check rules"; }
  fi
}

# Expects `helm template` with VALUES to fail with a message matching PATTERN.
expect_render_failure() {
  local values=$1 pattern=$2 log
  log="$work/$(basename "$values").log"
  echo "chart-test: $(basename "$values") must not render"
  if quiet_helm template compensatord "$chart" -f "$values" >/dev/null 2>"$log"; then
    fail "$(basename "$values") rendered"
  fi
  grep -Eq "$pattern" "$log" || { cat "$log"; fail "$(basename "$values") failed, but not with /$pattern/"; }
}

check_values default
for values in "$chart"/ci/*.yaml; do
  check_values "ci-$(basename "$values" .yaml)" -f "$values"
done
grep -q 'kind: PrometheusRule' "$work"/ci-*/rendered.yaml || fail "no ci/ file renders the PrometheusRule"
grep -q 'kind: HorizontalPodAutoscaler' "$work"/ci-*/rendered.yaml || fail "no ci/ file renders the HPA"

# The NetworkPolicy: by default the metrics port admits the monitoring namespace and the API port
# nobody (an ingress rule without peers would admit everyone, so the API gets no rule at all);
# named clients open the API port to them only.
echo "chart-test: the NetworkPolicy closes the API port unless its clients are named"
quiet_helm template compensatord "$chart" --show-only templates/networkpolicy.yaml >"$work/np-default.yaml" ||
  fail "the default values render no NetworkPolicy"
grep -q 'port: metrics' "$work/np-default.yaml" || fail "the default NetworkPolicy does not admit scrapes"
if grep -q 'port: http' "$work/np-default.yaml"; then fail "the default NetworkPolicy opens the API port"; fi
quiet_helm template compensatord "$chart" -f "$chart/ci/seed-values.yaml" \
  --show-only templates/networkpolicy.yaml >"$work/np-seed.yaml" || fail "seed-values: no NetworkPolicy"
grep -q 'port: http' "$work/np-seed.yaml" || fail "seed-values: the named API clients are not admitted"
grep -q 'app.kubernetes.io/name: order-service' "$work/np-seed.yaml" || fail "seed-values: order-service missing"

# The probes are on the metrics port, so that the API port can be closed entirely (api.enabled).
echo "chart-test: the probes use the metrics port; api.enabled=false opens no API port"
grep -Eq 'httpGet: \{path: /(healthz|readyz), port: http\}' "$work/default/rendered.yaml" &&
  fail "a probe still uses the API port"
[[ $(grep -Ec 'httpGet: \{path: /(healthz|readyz), port: metrics\}' "$work/default/rendered.yaml") == 3 ]] ||
  fail "the startup, liveness and readiness probes are not all on the metrics port"
check_values "api-off" --set api.enabled=false
grep -Eq '^ *listen: "?off"?$' "$work/api-off/config.yaml" || fail "api.enabled=false: http.listen is not off"
if grep -Eq 'name: http$|port: http$' "$work/api-off/rendered.yaml"; then
  fail "api.enabled=false still renders an API port"
fi

# TLS by reference to a kubernetes.io/tls Secret: mounted read-only, named in http.tls.
check_values "api-tls" --set api.tls.secretName=api-cert
grep -q 'cert_file: /etc/compensatord/tls/tls.crt' "$work/api-tls/config.yaml" || fail "api.tls: http.tls.cert_file not set"
grep -q 'secretName: api-cert' "$work/api-tls/rendered.yaml" || fail "api.tls: the Secret is not mounted"
if grep -Eq '^ *tls:' "$work/default/config.yaml"; then fail "TLS is configured without api.tls.secretName"; fi

expect_render_failure "$broken/wrong-type-values.yaml" 'replicaCount: Invalid type. Expected: integer'
expect_render_failure "$broken/unknown-key-values.yaml" 'Additional property replicas is not allowed'
expect_render_failure "$broken/literal-password-values.yaml" 'literal password'
expect_render_failure "$broken/literal-api-token-values.yaml" 'config.http.tokens.0.token: Does not match pattern'

echo "chart-test: kubernetes-invalid-values.yaml must fail schema validation"
quiet_helm template compensatord "$chart" -f "$broken/kubernetes-invalid-values.yaml" >"$work/k8s-invalid.yaml"
mkdir -p "$work/k8s-invalid"
if node "$validate" "$work/k8s-invalid.yaml" "$work/k8s-invalid" 2>"$work/k8s-invalid.log"; then
  fail "kubernetes-invalid-values.yaml passed schema validation"
fi
grep -q 'requiredDuringSchedulingIgnoredDuringExecution must be object' "$work/k8s-invalid.log" ||
  { cat "$work/k8s-invalid.log"; fail "kubernetes-invalid-values.yaml failed for another reason"; }

echo "chart-test: root-values.yaml must fail the hardening check"
quiet_helm template compensatord "$chart" -f "$broken/root-values.yaml" >"$work/root.yaml"
if node "$validate" "$work/root.yaml" "$work/k8s-invalid" 2>"$work/root.log"; then
  fail "containers running as root went unnoticed"
fi
grep -q 'container compensatord: runAsUser is not a non-root uid' "$work/root.log" ||
  { cat "$work/root.log"; fail "root-values.yaml failed for another reason"; }

echo "chart-test: a rendered password must fail the secret check"
sed 's|[$]{PGPASSWORD}|hunter2|' "$work/default/rendered.yaml" >"$work/leaked.yaml"
if node "$validate" "$work/leaked.yaml" "$work/k8s-invalid" 2>"$work/leaked.log"; then
  fail "a password in the rendered ConfigMap went unnoticed"
fi
grep -q 'literal secret' "$work/leaked.log" || { cat "$work/leaked.log"; fail "the leak failed for another reason"; }

echo "chart-test: invalid-config-values.yaml must fail check-config"
quiet_helm template compensatord "$chart" -f "$broken/invalid-config-values.yaml" >"$work/bad-config.yaml"
mkdir -p "$work/bad-config"
node "$validate" "$work/bad-config.yaml" "$work/bad-config" || fail "invalid-config-values.yaml: rendered objects"
status=0
check_config "$work/bad-config/config.yaml" >"$work/bad-config.log" 2>&1 || status=$?
((status == 2)) || { cat "$work/bad-config.log"; fail "check-config exited $status on an invalid config, not 2"; }
grep -q 'reconciler.poll_interval' "$work/bad-config.log" ||
  { cat "$work/bad-config.log"; fail "check-config did not name reconciler.poll_interval"; }

# The packaged chart carries the dashboards/ files themselves, not dangling links.
echo "chart-test: helm package includes dashboards/"
quiet_helm package "$chart" --destination "$work/package" >/dev/null || fail "helm package"
tar -xzf "$work"/package/compensatord-*.tgz -C "$work/package"
for file in alerts.yaml compensatord.json; do
  cmp "$work/package/compensatord/files/$file" "$repo/dashboards/$file" ||
    fail "the packaged files/$file differs from dashboards/$file"
done

echo "chart-test: all checks passed"
