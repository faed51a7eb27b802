#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs each for a bounded time from its seed corpus. A finding (a
# crash, a leak, a hang, a broken invariant) is kept in tests/fuzz/regressions/<target>/, which
# every test pass replays from then on, and fails the run. The corpus grows in a temporary copy:
# the repository keeps only the small seed set.
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_TARGETS  targets to run (default: check_message template participant config transaction_path)
#   BUILD_DIR     build directory (default: build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_TOOLS=ON bash scripts/install-deps.sh

build=${BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-check_message template participant config transaction_path}

launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="${PWD}"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
echo "fuzz: configuring ${build} with clang"
CXX=clang++ cmake -S . -B "${build}" -G Ninja "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCOMPENSATORD_TESTS=OFF -DCOMPENSATORD_FUZZ=ON >/dev/null
echo "fuzz: compiling the targets"
cmake --build "${build}" --target fuzz_targets -j "$(nproc)"

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
failed=()
for target in ${targets}; do
  seeds=tests/fuzz/corpus/${target}
  findings=tests/fuzz/regressions/${target}
  [[ -d "${seeds}" ]] || { echo "fuzz: no seed corpus ${seeds}" >&2; exit 2; }
  mkdir -p "${work}/${target}" "${findings}"
  cp -r "${seeds}/." "${work}/${target}/"
  echo "fuzz: ${target} for ${seconds} s"
  log=${work}/${target}.log
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: memory growth is a finding too.
  if "${build}/tests/fuzz/fuzz_${target}" "${work}/${target}" -max_total_time="${seconds}" -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="${findings}/" -print_final_stats=1 >"${log}" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}")
    coverage=$(grep -o 'cov: [0-9]*' "${log}" | tail -1)
    echo "fuzz: ${target}: ${runs:-?} inputs, ${coverage:-cov: ?}, corpus $(ls "${work}/${target}" | wc -l) files, no finding"
  else
    echo "fuzz: ${target}: FINDING, kept in ${findings}/; the log's end:" >&2
    tail -40 "${log}" >&2
    failed+=("${target}")
  fi
done
if ((${#failed[@]} > 0)); then
  echo "fuzz: findings in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds} s without a finding"
