#!/bin/sh
# Builds and runs the whole test suite twice:
# a plain build and an AddressSanitizer + UndefinedBehaviorSanitizer build.
# Extra arguments go to `meson test` (for example --suite unit).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"


run_suite() {
  dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
  meson compile -C "$dir"
  meson test -C "$dir" --print-errorlogs --num-processes 2 $test_args
  # meson counts a skip (exit 77) as a pass; here only a listed one is.
  python3 "$top/tests/check_skips.py" "$dir/meson-logs/testlog.json" "$top/tests/skip-allowlist"
}

test_args="$*"
run_suite build-test --werror
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan --werror -Db_sanitize=address,undefined -Db_lundef=false
echo "run-all: every suite passed in both builds"

# Debian packages (built, linted, installed in a clean chroot) and the ARM
# builds under qemu-user: slow, so once, after both builds.
tests/packaging/run.sh build-test
echo "run-all: packages and ARM builds passed"
