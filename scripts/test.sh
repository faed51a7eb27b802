#!/usr/bin/env bash
# The test command: installs missing packages, builds, runs clang-tidy (scripts/tidy.sh) and every test (unit, integration
# with a throwaway PostgreSQL and real HTTP participants, end-to-end with the daemon as a
# process), then the container image built with buildah and run (ctest label image), then the
# same tests again under AddressSanitizer + UndefinedBehaviorSanitizer (without the image test:
# the image holds the release build, not the sanitized one), then every fuzz target for a bounded
# time.
#   TIDY=OFF skips clang-tidy (about 2 to 3 minutes on 2 cores);
#   IMAGE_TEST=OFF skips the image test (about 7 to 12 minutes on 2 cores; needs root and Debian's
#   package mirror);
#   SANITIZE_PASS=OFF skips the sanitizer pass;
#   FUZZ=OFF skips the fuzz pass (scripts/fuzz.sh: each libFuzzer target for FUZZ_SECONDS, default
#   60, after a clang build of the parsers).
set -euo pipefail
cd "$(dirname "$0")/.."

run_suite() {
  local dir=$1
  shift
  echo "test: running the suite in ${dir}"
  (cd "${dir}" && ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@")
}

BUILD_DIR=build bash scripts/build.sh
if [[ "${TIDY:-ON}" == "ON" ]]; then
  started=$SECONDS
  BUILD_DIR=build bash scripts/tidy.sh
  echo "test: clang-tidy took $((SECONDS - started)) s"
fi
run_suite build --label-exclude image
# A step of its own: it compiles the daemon again inside the image's build stage, which takes
# minutes on every core; alone, it slows no timing-sensitive test, and its time shows here.
if [[ "${IMAGE_TEST:-ON}" == "ON" ]]; then
  started=$SECONDS
  run_suite build --label-regex image
  echo "test: the image test took $((SECONDS - started)) s"
fi

if [[ "${SANITIZE_PASS:-ON}" == "ON" ]]; then
  BUILD_DIR=build-asan BUILD_TYPE=Debug SANITIZE=ON bash scripts/build.sh
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp" \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_suite build-asan --label-exclude image
fi
if [[ "${FUZZ:-ON}" == "ON" ]]; then
  started=$SECONDS
  bash scripts/fuzz.sh
  echo "test: the fuzz pass took $((SECONDS - started)) s"
fi
echo "test: all suites passed"
