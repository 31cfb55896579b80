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

# The test builds need no dpkg database in the sysroot (only the package
# builds do).
sysroot=$(SYSROOT_DPKG_DB=no packaging/cross/sysroot.sh "$arch")
# The programs run at build time too (the web page's sample note is made by
# the jiashu just built), under binfmt_misc's qemu, which finds ARCH's
# loader and libraries in the sysroot.
export QEMU_LD_PREFIX=$sysroot
mkdir -p "$build"
ini=$build.sysroot.ini
printf "[constants]\nsysroot = '%s'\n" "$sysroot" >"$ini"
# The station's spoken prompts are the same files on every architecture
# and the amd64 build makes them; made by espeak-ng and the emulated
# encoder they would cost nine minutes here. Fuzzing is native only.
opts="-Dprompts=disabled -Dfuzzing=disabled"
if [ -f "$build/build.ninja" ]; then
  # shellcheck disable=SC2086
  meson setup --reconfigure "$build" $opts --cross-file "$ini" --cross-file "packaging/cross/$arch.ini" >/dev/null
else
  # shellcheck disable=SC2086
  meson setup "$build" $opts --cross-file "$ini" --cross-file "packaging/cross/$arch.ini" >/dev/null
fi
start=$(date +%s)
nice meson compile -C "$build" >"$build.compile.log" 2>&1 ||
  { tail -30 "$build.compile.log" >&2; echo "cross_qemu: the $arch build failed" >&2; exit 1; }
echo "cross_qemu: $arch built in $(($(date +%s) - start)) s"
file "$build/app/cli/jiashu" "$build/net/relay/jiashu-relay"
file "$build/app/cli/jiashu" | grep -q "$(case $arch in arm64) echo 'ARM aarch64' ;; armhf) echo 'ARM, EABI5' ;; esac)" ||
  { echo "cross_qemu: $build/app/cli/jiashu is not an $arch program" >&2; exit 1; }

"$build/app/cli/jiashu" --version
"$build/net/relay/jiashu-relay" --version

# Under emulation every test runs 5 to 20 times slower, and the whole ARM
# part of CI (both architectures, sysroots, builds and tests) must stay well
# under fifteen minutes on a busy 2-core machine. So these: the C unit
# tests of the codec, the store, the end-to-end cryptography, the sync
# client's rules, the station's keypad and screen, the web note muxer and
# the relay's request parser (its fuzz seeds replayed): about a minute per
# architecture. The programs themselves run under binfmt_misc in
# notes_across_arches.sh (encode and decode on every architecture). Left
# out, though they pass under qemu: the tests that spend minutes there
# (encode_decode_every_format_and_rate 4.5 min, relay_every_route_and_error_status
# 1 min, and the long encodes of exact lengths at every rate, salvage at
# every cut and page durations; the station registry's PIN hashing; the
# message catalogue and man pages, which test text, not the machine), the
# fault and soak variants (many kills and restarts), the tests that build
# their own network with namespaces and nftables (a lossy 2G link), the
# JavaScript tus peers (node under qemu) and the benchmarks.
# JIASHU_QEMU_TESTS=all runs the unit and integration suites whole.
default_tests="
  note_damage_gets_its_own_error note_decoder_seeks_to_frame
  encoder_refuses_bad_config_and_reports_write_errors wav_writer_output_reads_back_exactly
  open_creates_home_and_schema sha256_matches_openssl refuses_newer_foreign_and_damaged_files
  settings_are_checked_and_kept contacts_put_rename_find_remove recording_lands_ready_in_outbox
  interrupted_recording_is_finalised_on_open live_recording_is_left_alone
  draft_is_kept_back_then_sent_or_thrown_away outbox_moves_forward_only
  inbox_download_verify_play_and_receipts quota_evicts_only_what_was_heard_oldest_first
  cpace_matches_draft_test_vectors e2e_refuses_every_change_a_relay_can_make e2e_vectors_are_stable
  sync_client_backoff_retry_rules_and_addresses
  station_keypad_state_machine station_big_digits_and_texts
  web_ogg_muxer_and_parser_refuse_malformed_notes relay_parse_fuzz_seeds_replay"
if [ "${JIASHU_QEMU_TESTS:-}" = all ]; then
  JIASHU_QEMU_TESTS=$(meson test -C "$build" --list --suite unit --suite integration 2>/dev/null | sed 's/^jiashu:[a-z]* \/ //' | tr '\n' ' ')
fi
tests=${JIASHU_QEMU_TESTS:-$default_tests}
known=$(meson test -C "$build" --list 2>/dev/null | sed 's/^jiashu:[a-z]* \/ //')
run=""
for t in $tests; do
  if echo "$known" | grep -qxF "$t"; then run="$run $t"; else echo "cross_qemu: no test '$t' (renamed?)" >&2; exit 1; fi
done
# shellcheck disable=SC2086
start=$(date +%s)
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 1 --timeout-multiplier 6 $run
echo "cross_qemu: $arch passed under qemu-user in $(($(date +%s) - start)) s:$run"
