#!/usr/bin/env bash
# Installs every Debian package compensatord needs to build, test and run its demo, and the
# chart test's npm tools (CHART_TOOLS=OFF skips those, e.g. in the container build).
# Idempotent: packages already present are left alone. Run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libcpprest-dev libcurl4-openssl-dev libssl-dev librdkafka-dev libpqxx-dev libpq-dev libyaml-cpp-dev
  prometheus-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev
  postgresql postgresql-client kcat prometheus curl procps util-linux unzip
)
# The chart test's tools come from npm. This machine kind ships Node.js with npm; Debian's
# nodejs/npm are the fallback where node is missing (Debian's npm conflicts with a bundled one).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

install_chart_tools() {
  if [[ "${CHART_TOOLS:-ON}" == ON ]]; then
    bash "$(dirname "$0")/install-chart-tools.sh"
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
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
