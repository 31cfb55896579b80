#!/bin/sh
# The slow checks of the Debian packages and of the ARM builds, run by
# tests/run-all.sh once after its two builds:
#   tests/packaging/run.sh BUILD_DIR
# BUILD_DIR is a configured amd64 build (build-test). Its 'packaging' test
# setup runs the suite the default `meson test` leaves out (the packages
# built, linted, installed in a clean chroot, removed and purged); then the
# project is cross-built for arm64 and armhf and tested under qemu-user
# (tests/packaging/cross_qemu.sh), and notes made on each architecture are
# decoded on the others.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build-test}
cd "$top"
meson test -C "$build" --setup packaging --suite packaging --print-errorlogs
