#!/usr/bin/env bash
# Installs every Debian package compensatord needs to build, test, run its demo and build its
# container image, and the chart test's npm tools. Idempotent: packages already present are
# left alone, and when nothing is missing it costs one dpkg-query (scripts/build.sh runs it on
# every build). Run as root.
#   DEPS=build         only what compiles the daemon (the container image's build stage)
#   CHART_TOOLS=OFF    skips the chart test's npm tools and Helm
#   IMAGE_TOOLS=OFF    skips buildah and debootstrap (scripts/image.sh)
#   FUZZ_TOOLS=OFF     skips clang and its libFuzzer runtime (scripts/fuzz.sh)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libcpprest-dev libcurl4-openssl-dev libssl-dev librdkafka-dev libpqxx-dev libpq-dev libyaml-cpp-dev
  prometheus-cpp-dev libcivetweb-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev
)
if [[ "${DEPS:-all}" != build ]]; then
  # Tests, the demo and the chart test.
  packages+=(postgresql postgresql-client kcat prometheus curl openssl procps util-linux unzip)
  packages+=(wrk)  # the benchmarks' load generator (bench/)
  packages+=(clang-tidy)  # scripts/tidy.sh, run by the test command
  # The chart test's tools come from npm. This machine kind ships Node.js with npm; Debian's
  # nodejs/npm are the fallback where node is missing (Debian's npm conflicts with a bundled one).
  if [[ "${CHART_TOOLS:-ON}" == ON ]]; then
    command -v node >/dev/null || packages+=(nodejs)
    command -v npm >/dev/null || packages+=(npm)
  fi
  if [[ "${IMAGE_TOOLS:-ON}" == ON ]]; then packages+=(buildah debootstrap); fi
  # Debian 12's clang is clang 14; its libFuzzer runtime is only a recommendation of clang-14.
  if [[ "${FUZZ_TOOLS:-ON}" == ON ]]; then packages+=(clang libclang-rt-14-dev); fi
fi

install_chart_tools() {
  if [[ "${DEPS:-all}" != build && "${CHART_TOOLS:-ON}" == ON ]]; then
    bash "$(dirname "$0")/install-chart-tools.sh"
  fi
}

# One dpkg-query for the whole list and no process per package: a dpkg-query (or grep) per
# package costs seconds on a busy machine.
declare -A installed=()
while read -r status name; do
  [[ "$status" == ii ]] && installed[$name]=1
done < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${packages[@]}" 2>/dev/null || true)
missing=()
for p in "${packages[@]}"; do
  [[ -n "${installed[$p]:-}" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  install_chart_tools
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
install_chart_tools
