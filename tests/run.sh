#!/usr/bin/env bash
# Sets up what the tests need (cmake, a C compiler, cmocka, Fashion-MNIST for
# the real-data checks, python3 and Chromium for the report's browser check,
# pkg-config for the install check, Open MPI for the mpi tests),
# builds libnn with its tests, and runs them all: none is skipped.
set -euo pipefail
NN_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$NN_ROOT/tests/packages.sh"
nn_need_packages cmake gcc make pkg-config libcmocka-dev dataset-fashion-mnist python3 chromium \
    libopenmpi-dev openmpi-bin
nn_build "$NN_ROOT/build" -DCMAKE_BUILD_TYPE=Release -DNN_BUILD_TESTS=ON -DNN_REQUIRE_MPI=ON
cd "$NN_ROOT/build"
ctest --output-on-failure "$@"
