#!/usr/bin/env bash
# Installs missing packages, then configures and builds compensatord.
#   BUILD_DIR   build directory (default: build)
#   BUILD_TYPE  CMake build type (default: RelWithDebInfo)
#   SANITIZE    ON for an AddressSanitizer + UndefinedBehaviorSanitizer build (default: OFF)
#   TESTS       OFF to skip building the tests (default: ON)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

BUILD_DIR=${BUILD_DIR:-build}
jobs=$(nproc)
# Each compiler process of the cpprestsdk-heavy files takes ~1 GiB; stay within memory.
# ccache, when installed, makes rebuilds (and builds in other checkouts of this repo) cheap.
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="${PWD}"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
echo "build: configuring ${BUILD_DIR}"
cmake -S . -B "${BUILD_DIR}" -G Ninja "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  -DCOMPENSATORD_SANITIZE="${SANITIZE:-OFF}" \
  -DCOMPENSATORD_TESTS="${TESTS:-ON}" >/dev/null
echo "build: compiling with ${jobs} jobs"
cmake --build "${BUILD_DIR}" -j "${jobs}"
