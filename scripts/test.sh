#!/usr/bin/env bash
# The test command: installs missing packages, builds, and runs every test (unit, integration
# with a throwaway PostgreSQL and real HTTP participants, end-to-end with the daemon as a
# process, the container image built with buildah and run), then the same tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer (without the image test: the image holds the
# release build, not the sanitized one).
#   SANITIZE_PASS=OFF skips the sanitizer pass (quicker local runs).
set -euo pipefail
cd "$(dirname "$0")/.."

run_suite() {
  local dir=$1
  shift
  echo "test: running the suite in ${dir}"
  (cd "${dir}" && ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@")
}

BUILD_DIR=build bash scripts/build.sh
run_suite build

if [[ "${SANITIZE_PASS:-ON}" == "ON" ]]; then
  BUILD_DIR=build-asan BUILD_TYPE=Debug SANITIZE=ON bash scripts/build.sh
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp" \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_suite build-asan --label-exclude image
fi
echo "test: all suites passed"
