#!/usr/bin/env bash
# clang-tidy with the project's small check set (.clang-tidy) over the daemon's and the adapters'
# sources, using the compile commands of a configured build (default build/). Any finding fails.
#   BUILD_DIR  the build whose compile_commands.json is used (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
if [[ ! -f "${build}/compile_commands.json" ]]; then
  echo "tidy: ${build}/compile_commands.json is missing: run scripts/build.sh first" >&2
  exit 2
fi
echo "tidy: clang-tidy over daemon/ and adapters/ ($(nproc) jobs)"
log=$(mktemp)
trap 'rm -f "${log}"' EXIT
if ! run-clang-tidy -p "${build}" -j "$(nproc)" -quiet "$(pwd)/(daemon|adapters)/" >"${log}" 2>&1; then
  grep -E "(warning|error):" "${log}" | sort -u >&2 || cat "${log}" >&2
  echo "tidy: findings above (checks in .clang-tidy)" >&2
  exit 1
fi
echo "tidy: no findings"
