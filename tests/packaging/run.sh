#!/bin/sh
# The slow checks of the Debian packages and of the ARM builds, run by
# tests/run-all.sh once after its two builds:
#   tests/packaging/run.sh BUILD_DIR
# BUILD_DIR is a configured amd64 build (build-test); its 'packaging' test
# setup runs the suites the default `meson test` leaves out.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build-test}
cd "$top"
meson test -C "$build" --setup packaging --suite packaging --print-errorlogs
