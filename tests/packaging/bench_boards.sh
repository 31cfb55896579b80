#!/bin/bash
# What jiashu costs on a small board, measured in one run and printed:
#  - the size of each Debian package (build-deb/ARCH, if built);
#  - the stripped size of both programs for amd64, arm64 and armhf;
#  - private dirty memory (smaps_rollup Private_Dirty: the pages the
#    process itself wrote, not the shared libraries RSS also counts) at its
#    highest while recording 8 s from a virtual microphone, while syncing
#    (sync --watch receiving three letters) and while the station's screen
#    runs; natively on amd64 (under qemu the emulator's own memory would be
#    counted);
#  - guest instructions to encode one minute of speech, per architecture,
#    counted by qemu-user with a small instruction-counting plugin
#    (tests/packaging/qemu_insn_count.c; Debian's qemu-user loads plugins
#    but ships none), against opusenc of the same architecture (Debian's
#    opus-tools, unpacked like the sysroot) at the same settings.
#   tests/packaging/bench_boards.sh AMD64_BUILD ARM64_BUILD ARMHF_BUILD
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
export TESTS_DIR=$top/tests BUILD_DIR=$1
export JIASHU=$1/app/cli/jiashu JIASHU_RELAY=$1/net/relay/jiashu-relay
declare -A build=([amd64]=$1 [arm64]=$2 [armhf]=$3)
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/sound_devices.sh"
declare -A triplet=([amd64]=x86_64-linux-gnu [arm64]=aarch64-linux-gnu [armhf]=arm-linux-gnueabihf)
declare -A qemu=([amd64]=qemu-x86_64 [arm64]=qemu-aarch64 [armhf]=qemu-arm)

echo "== packages"
for arch in amd64 arm64 armhf; do
  for d in "$top/build-deb/$arch"/*.deb; do
    [ -e "$d" ] || continue
    case $d in *dbgsym*) continue ;; esac
    printf '  %-40s %7d bytes (installed %s KiB)\n' "$(basename "$d")" "$(stat -c %s "$d")" "$(dpkg-deb -f "$d" Installed-Size)"
  done
done

echo "== stripped programs"
for arch in amd64 arm64 armhf; do
  strip=${triplet[$arch]}-strip
  [ "$arch" = amd64 ] && strip=strip
  for p in app/cli/jiashu net/relay/jiashu-relay; do
    "$strip" -o "$SCRATCH/stripped" "${build[$arch]}/$p"
    printf '  %-6s %-13s %7d bytes\n' "$arch" "$(basename "$p")" "$(stat -c %s "$SCRATCH/stripped")"
  done
done

# peak_dirty PID: the highest Private_Dirty (KiB) seen while PID lives.
peak_dirty() {
  local pid=$1 peak=0 v
  while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/^Private_Dirty:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    [ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
    sleep 0.05
  done
  echo "$peak"
}
# peak_dirty_for SECONDS PID: the same, for a process that runs on.
peak_dirty_for() {
  local end=$(($(date +%s) + $1)) pid=$2 peak=0 v
  while [ "$(date +%s)" -lt "$end" ] && kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/^Private_Dirty:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    [ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
    sleep 0.05
  done
  echo "$peak"
}

echo "== private dirty memory, amd64"
sound_devices
speech "$SCRATCH/speech.wav" 16000
sox -q "$SCRATCH/speech.wav" "$SCRATCH/speech.wav" "$SCRATCH/speech.wav" -t raw "$SCRATCH/mic.raw"
start_relay bench
"$JIASHU" --home "$SCRATCH/dad" setup --relay "$BASE" --name dad >/dev/null
code=$("$JIASHU" --home "$SCRATCH/dad" family create)
"$JIASHU" --home "$SCRATCH/ma" setup --relay "$BASE" --name grandma >/dev/null
"$JIASHU" --home "$SCRATCH/ma" family join "$code" >/dev/null
"$JIASHU" --home "$SCRATCH/dad" sync >/dev/null
"$JIASHU" --home "$SCRATCH/dad" record --max-seconds 8 </dev/null >/dev/null 2>&1 &
printf '  recording (8 s, microphone)   %6d KiB\n' "$(peak_dirty $!)"
wait $! || fail "record failed"
for i in 1 2; do "$JIASHU" --home "$SCRATCH/dad" record --input "$SCRATCH/speech.wav" >/dev/null; done
"$JIASHU" --home "$SCRATCH/dad" sync >/dev/null
"$JIASHU" --home "$SCRATCH/ma" sync --watch >/dev/null 2>&1 &
watch=$!
printf '  syncing (watch, 3 letters in)  %6d KiB\n' "$(peak_dirty_for 8 $watch)"
kill -TERM $watch; wait $watch 2>/dev/null || true
stop_relays
screen_start 80 24 env LANG=C "$JIASHU" --home "$SCRATCH/ma" station
screen_wait "1 Play new"
station=$(pgrep -n -f -- "--home $SCRATCH/ma station")
screen_keys 1
printf '  station (screen, playing)      %6d KiB\n' "$(peak_dirty_for 6 "$station")"
screen_stop

echo "== instructions to encode 60 s of speech (qemu-user, insn plugin)"
cc -O2 -shared -fPIC -o "$SCRATCH/insn.so" "$TESTS_DIR/packaging/qemu_insn_count.c"
sox -q "$SCRATCH/speech.wav" "$SCRATCH/speech.wav" "$SCRATCH/speech.wav" "$SCRATCH/speech.wav" \
  "$SCRATCH/speech.wav" "$SCRATCH/speech.wav" "$SCRATCH/long.wav"
sox -q "$SCRATCH/long.wav" "$SCRATCH/min.wav" trim 0 60
for arch in amd64 arm64 armhf; do
  root=/
  opusenc=/usr/bin/opusenc
  if [ "$arch" != amd64 ]; then
    root=$(sh "$top/packaging/cross/sysroot.sh" "$arch")
    tools=$top/build-cross/tools-$arch
    if [ ! -x "$tools/usr/bin/opusenc" ]; then
      mmdebstrap --variant=extract --arch="$arch" --include=opus-tools bookworm "$tools" \
        "deb http://deb.debian.org/debian bookworm main" >"$SCRATCH/tools.log" 2>&1 ||
        { tail "$SCRATCH/tools.log" >&2; fail "opus-tools for $arch"; }
    fi
    root=$tools
    opusenc=$tools/usr/bin/opusenc
  fi
  count() { "${qemu[$arch]}" -L "$1" -plugin "$SCRATCH/insn.so,out=$SCRATCH/n" "${@:2}" >/dev/null 2>&1 || fail "$arch: $*"; cat "$SCRATCH/n"; }
  ref=$(count "$root" "$opusenc" --quiet --bitrate 16 --framesize 60 --comp 10 "$SCRATCH/min.wav" "$SCRATCH/ref.opus")
  sysroot=$root
  [ "$arch" != amd64 ] && sysroot=$(sh "$top/packaging/cross/sysroot.sh" "$arch")
  on=$(count "$sysroot" "${build[$arch]}/app/cli/jiashu" encode "$SCRATCH/min.wav" "$SCRATCH/on.opus" --bitrate 16000)
  off=$(count "$sysroot" "${build[$arch]}/app/cli/jiashu" encode "$SCRATCH/min.wav" "$SCRATCH/off.opus" --bitrate 16000 --no-cleanup)
  awk -v a="$arch" -v r="$ref" -v on="$on" -v off="$off" 'BEGIN {
    printf "  %-6s opusenc %6.0f M   jiashu %6.0f M (ratio %.2f)   --no-cleanup %6.0f M (ratio %.2f)\n",
      a, r / 1e6, on / 1e6, on / r, off / 1e6, off / r }'
done
