#!/bin/bash
# The ARM builds: cross-compiles the whole project for ARCH (arm64, armhf)
# with packaging/cross/ARCH.ini and a sysroot unpacked from ARCH's
# packages, then runs tests under qemu-user. The shell tests start the
# programs directly, so qemu is registered with binfmt_misc (meson's
# exe_wrapper alone would reach only the C test programs).
#   tests/packaging/cross_qemu.sh ARCH [BUILD_DIR]    (build-cross/ARCH)
# JIASHU_QEMU_TESTS="name ..." picks the tests (default: the set below).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
arch=$1
build=${2:-$top/build-cross/$arch}
cd "$top"
case $arch in
  arm64) qemu=qemu-aarch64 ;;
  armhf) qemu=qemu-arm ;;
  *) echo "cross_qemu: ARCH is arm64 or armhf, not '$arch'" >&2; exit 2 ;;
esac

# binfmt_misc, mounted and with qemu registered (as root; done once per boot).
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
    { echo "cross_qemu: cannot mount binfmt_misc (run as root)" >&2; exit 1; }
fi
if [ ! -e /proc/sys/fs/binfmt_misc/$qemu ]; then
  update-binfmts --enable "$qemu" ||
    { echo "cross_qemu: cannot register $qemu with binfmt_misc" >&2; exit 1; }
fi

sysroot=$(packaging/cross/sysroot.sh "$arch")
mkdir -p "$build"
ini=$build.sysroot.ini
printf "[constants]\nsysroot = '%s'\n" "$sysroot" >"$ini"
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" --cross-file "$ini" --cross-file "packaging/cross/$arch.ini" >/dev/null
else
  meson setup "$build" --cross-file "$ini" --cross-file "packaging/cross/$arch.ini" >/dev/null
fi
nice meson compile -C "$build" >"$build.compile.log" 2>&1 ||
  { tail -30 "$build.compile.log" >&2; echo "cross_qemu: the $arch build failed" >&2; exit 1; }
file "$build/app/cli/jiashu" "$build/net/relay/jiashu-relay"

# The emulated programs find ARCH's loader and libraries in the sysroot.
export QEMU_LD_PREFIX=$sysroot
"$build/app/cli/jiashu" --version
"$build/net/relay/jiashu-relay" --version

# Under emulation every test runs 5 to 20 times slower. These cover each
# part once through its real programs: the C unit tests of the codec,
# store, relay parser and station, the codec's command line, the relay's
# routes and security, a family's letter recorded, delivered and played
# through the sync client, the audio path through virtual sound cards and
# the station's screens. Left out: the fault and soak variants (many kills
# and restarts; minutes natively), the tests that build their own network
# with namespaces and nftables (a lossy 2G link), the JavaScript tus peers
# (node under qemu) and the benchmarks.
default_tests="
  $(meson test -C "$build" --list --suite unit 2>/dev/null | sed 's/^jiashu:[a-z]* \/ //' | tr '\n' ' ')
  encode_decode_every_format_and_rate
  bad_input_fails_with_one_clear_line
  relay_every_route_and_error_status
  relay_keeps_families_apart_and_refuses_hostile_requests
  relay_takes_names_units_a_config_file_and_says_what_is_missing
  sync_family_record_deliver_play_receipts_and_watch
  cli_usage_and_errors"
tests=${JIASHU_QEMU_TESTS:-$default_tests}
known=$(meson test -C "$build" --list 2>/dev/null | sed 's/^jiashu:[a-z]* \/ //')
run=""
for t in $tests; do
  if echo "$known" | grep -qxF "$t"; then run="$run $t"; else echo "cross_qemu: no test '$t' (renamed?)" >&2; exit 1; fi
done
# shellcheck disable=SC2086
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 6 $run
echo "cross_qemu: $arch built and passed under qemu-user:$run"
