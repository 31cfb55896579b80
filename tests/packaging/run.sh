#!/bin/sh
# The slow checks of the Debian packages and of the ARM builds, run by
# tests/run-all.sh once after its two builds:
#   tests/packaging/run.sh BUILD_DIR
# BUILD_DIR is a configured amd64 build (build-test). Its 'packaging' test
# setup runs the suite the default `meson test` leaves out (the packages
# built, linted, installed in a clean chroot, removed and purged); then the
# project is cross-built for arm64 and armhf and tested under qemu-user
# (tests/packaging/cross_qemu.sh), and notes made on each architecture are
# decoded on the others (tests/packaging/notes_across_arches.sh).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build-test}
cd "$top"
meson test -C "$build" --setup packaging --suite packaging --print-errorlogs

# The ARM part: about ten minutes on a busy 2-core machine. armhf's sysroot
# is downloaded while arm64 builds; if that fails, cross_qemu.sh tries again
# and says why.
start=$(date +%s)
mkdir -p build-cross
SYSROOT_DPKG_DB=no packaging/cross/sysroot.sh armhf >/dev/null 2>build-cross/sysroot-armhf.err &
armhf_sysroot=$!
tests/packaging/cross_qemu.sh arm64 build-cross/arm64
wait $armhf_sysroot || true
tests/packaging/cross_qemu.sh armhf build-cross/armhf
tests/packaging/notes_across_arches.sh "$build" build-cross/arm64 build-cross/armhf
echo "run.sh: the ARM builds, their tests and the notes across architectures took $(($(date +%s) - start)) s"
