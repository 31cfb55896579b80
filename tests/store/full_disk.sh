#!/bin/bash
# A full disk while recording, while finalising, and at the start (each
# time checked to be full: df shows less than a block free); a read-only
# home. Each gives one clear line and a non-zero exit, leaves the
# database intact, and recording works again once the disk has room.
# Needs root: it mounts a small tmpfs in a private mount namespace.
. "$TESTS_DIR/lib.sh"

if [ -z "${IN_MOUNT_NS:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "skipped: needs root"; exit 77; }
  IN_MOUNT_NS=1 exec unshare -m --propagation private bash ${BASH_XTRACE:+-x} "$0" "$@"
fi

speech "$SCRATCH/one.wav" 16000
sox -q "$SCRATCH/one.wav" "$SCRATCH/in.wav" repeat 2 # ~30 s
D="$SCRATCH/disk"
mkdir "$D"
mount -t tmpfs -o size=4m tmpfs "$D"
unmount_all() { umount "$H" 2>/dev/null || true; umount "$D" 2>/dev/null || true; cleanup_scratch; }
trap unmount_all EXIT
H="$D/home"

# fill: fills the disk and checks that it is full (less than one 16 KiB
# block left), so no step below passes on a disk that still had room.
free_bytes() { df -B1 --output=avail "$D" | tail -1 | tr -d ' '; }
# A recording running meanwhile may free what it held when it meets the
# full disk (its journal, a page), so the disk is filled again, into new
# files (dd would truncate an old one first), until it stays full.
fill() {
  local i
  dd if=/dev/zero of="$D/filler" bs=16k 2>/dev/null || true
  dd if=/dev/zero of="$D/filler2" bs=512 2>/dev/null || true
  for i in 3 4 5 6 7; do
    [ "$(free_bytes)" -lt 16384 ] && return 0
    sleep 0.1
    dd if=/dev/zero of="$D/filler$i" bs=512 2>/dev/null || true
  done
  [ "$(free_bytes)" -lt 16384 ] || fail "the disk did not fill: $(free_bytes) bytes free"
}
# The check itself needs a little room (SQLite's shared-memory file): lend
# it 256 KB and fill the disk again afterwards if it was full.
sql() {
  local was_full=0
  if [ -e "$D/filler" ]; then was_full=1; rm -f "$D/spare"; truncate -s -256K "$D/filler"; fi
  sqlite3 "$H/jiashu.db" "$1"
  if [ "$was_full" = 1 ]; then dd if=/dev/zero of="$D/spare" bs=512 2>/dev/null || true; fi
}
integrity() { [ "$(sql "PRAGMA integrity_check")" = ok ] || fail "$1: integrity_check failed"; }
count() { "$JIASHU" --home "$H" outbox --json | jq length; }

"$JIASHU" --home "$H" record --max-seconds 3 --input "$SCRATCH/in.wav" >/dev/null || fail "first recording"

# 1. The disk fills up while recording: wait until two seconds are in, fill.
JIASHU_RECORD_TRACE=1 JIASHU_RECORD_PACE_US=5000 \
  "$JIASHU" --home "$H" record --max-seconds 60 --input "$SCRATCH/in.wav" >"$SCRATCH/fed" 2>"$SCRATCH/err" &
pid=$!
for _ in $(seq 1 200); do
  grep -Eq '^fed up to ([2-9][0-9]{3}|[0-9]{5,}) ms' "$SCRATCH/fed" && break
  sleep 0.05
done
grep -Eq '^fed up to ([2-9][0-9]{3}|[0-9]{5,}) ms' "$SCRATCH/fed" || fail "the recording did not reach 2 s in 10 s"
fill
rc=0
wait "$pid" || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || fail "recording on a full disk: exit $rc"
[ "$(wc -l <"$SCRATCH/err")" -eq 1 ] || { cat "$SCRATCH/err"; fail "recording on a full disk: one line"; }
grep -q "disk is full" "$SCRATCH/err" || fail "recording on a full disk said: $(cat "$SCRATCH/err")"
integrity "after the disk filled during a recording"

# 2. Finalising that interrupted recording while the disk is still full:
#    either it fits (the WAL reuses space) or it fails cleanly.
rc=0
"$JIASHU" --home "$H" outbox >/dev/null 2>"$SCRATCH/err2" || rc=$?
if [ "$rc" -ne 0 ]; then
  [ "$rc" -lt 128 ] && [ "$(wc -l <"$SCRATCH/err2")" -eq 1 ] && grep -q "disk is full" "$SCRATCH/err2" \
    || fail "finalising on a full disk: exit $rc, said $(cat "$SCRATCH/err2")"
fi
integrity "after finalising on a full disk"

# 3. Starting a recording with no room: refused before anything is written.
n=$(sql "SELECT count(*) FROM messages")
[ "$(free_bytes)" -lt 16384 ] || fail "the disk has room again before step 3: $(free_bytes) bytes free"
expect_error_matching "record on a full disk" "disk is full" \
  "$JIASHU" --home "$H" record --input "$SCRATCH/in.wav"
[ "$(sql "SELECT count(*) FROM messages")" = "$n" ] || fail "a refused recording left a row"
integrity "after a refused recording"

# 4. Room again: the interrupted recording is a ready message that kept what
#    was fed before the disk filled, and recording works.
rm -f "$D"/filler* "$D/spare"
"$JIASHU" --home "$H" outbox --json >"$SCRATCH/list.json" || fail "outbox once there is room"
jq -e 'length == 2 and all(.[]; .state == "ready")' "$SCRATCH/list.json" >/dev/null \
  || fail "after freeing space: $(jq -c '[.[] | [.state, .duration_ms]]' "$SCRATCH/list.json")"
kept=$(jq '.[1].duration_ms' "$SCRATCH/list.json")
[ "$kept" -ge 1000 ] || fail "the interrupted recording kept only $kept ms"
"$JIASHU" --home "$H" play "$(jq -r '.[1].id' "$SCRATCH/list.json")" --output "$SCRATCH/p.wav" >/dev/null \
  || fail "the interrupted recording does not decode"
"$JIASHU" --home "$H" record --max-seconds 5 --input "$SCRATCH/in.wav" >/dev/null || fail "recording after freeing space"
[ "$(count)" = 3 ] || fail "three messages at the end"
integrity "at the end"

# 5. A full disk during a normal finish: fill while the last page is being
#    written, many times at random; whatever happens the database is intact,
#    a failure is one clean line, and nothing committed is lost.
RANDOM=${SEED:-7}
for trial in $(seq 1 8); do
  before=$(count)
  "$JIASHU" --home "$H" record --max-seconds 4 --input "$SCRATCH/in.wav" >/dev/null 2>"$SCRATCH/err3" &
  pid=$!
  sleep "$(awk -v ms=$((RANDOM % 150)) 'BEGIN { printf "%.3f", ms / 1000 }')"
  fill
  rc=0
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    [ "$rc" -lt 128 ] && [ "$(wc -l <"$SCRATCH/err3")" -eq 1 ] \
      || fail "finish trial $trial: exit $rc, said $(cat "$SCRATCH/err3")"
  fi
  integrity "finish trial $trial"
  rm -f "$D"/filler* "$D/spare"
  after=$(count)
  [ "$after" -ge "$before" ] || fail "finish trial $trial: lost a message"
  "$JIASHU" --home "$H" outbox --json | jq -e 'all(.[]; .state == "ready")' >/dev/null \
    || fail "finish trial $trial: a message is not ready"
done

# 6. A read-only home: one clear line, nothing changed; writable again, all there.
"$JIASHU" --home "$H" outbox >/dev/null
before=$(sha256sum <"$H/jiashu.db")
mount --bind "$H" "$H"
mount -o remount,bind,ro "$H"
expect_error_matching "outbox on a read-only home" "read-only" "$JIASHU" --home "$H" outbox
expect_error_matching "record on a read-only home" "read-only" \
  "$JIASHU" --home "$H" record --input "$SCRATCH/in.wav"
expect_error_matching "new home on a read-only disk" "read-only|Read-only" \
  "$JIASHU" --home "$H/sub" outbox
umount "$H"
[ "$(sha256sum <"$H/jiashu.db")" = "$before" ] || fail "the read-only home was changed"
"$JIASHU" --home "$H" record --max-seconds 2 --input "$SCRATCH/in.wav" >/dev/null || fail "record once writable"
integrity "after the read-only home"
umount "$D"
echo ok
