#!/bin/bash
# SIGKILL a recording at random moments. After each kill the next command
# finalises the recording: it decodes, is at most one second shorter than
# what had been fed before the kill, and the database passes integrity_check.
# TRIALS (default 30, 400 with SOAK=1) and SEED make it reproducible.
. "$TESTS_DIR/lib.sh"

trials=${TRIALS:-30}
[ "${SOAK:-0}" = 1 ] && trials=${TRIALS:-400}
seed=${SEED:-20261123}
RANDOM=$seed

speech "$SCRATCH/one.wav" 16000
sox -q "$SCRATCH/one.wav" "$SCRATCH/in.wav" repeat 1 # twice the speech, ~20 s
in_ms=$(soxi -D "$SCRATCH/in.wav" | awk '{printf "%d", $1 * 1000}')
H="$SCRATCH/home"
# Feed 20 ms of audio every 2 ms: the whole file takes ~2 s of wall time, so
# kills land all through it, between and inside commits.
export JIASHU_RECORD_TRACE=1 JIASHU_RECORD_PACE_US=2000

expected=0 # messages that should be in the outbox
for trial in $(seq 1 "$trials"); do
  delay_ms=$((RANDOM % 2400))
  "$JIASHU" --home "$H" record --input "$SCRATCH/in.wav" >"$SCRATCH/fed" 2>"$SCRATCH/err" &
  pid=$!
  sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  fed=$(grep -Eo '^fed up to [0-9]+' "$SCRATCH/fed" | tail -1 | grep -Eo '[0-9]+$' || echo 0)
  finished=$(grep -Ec '^[0-9a-f-]{36}$' "$SCRATCH/fed" || true)
  [ -s "$SCRATCH/err" ] && { cat "$SCRATCH/err" >&2; fail "trial $trial: record said something on stderr"; }

  # Any command finalises the interrupted recording.
  "$JIASHU" --home "$H" outbox --json >"$SCRATCH/list.json" || fail "trial $trial: outbox failed after the kill"
  ok=$(sqlite3 "$H/jiashu.db" "PRAGMA integrity_check")
  [ "$ok" = ok ] || fail "trial $trial (seed $seed, delay $delay_ms ms): integrity_check: $ok"
  count=$(jq length "$SCRATCH/list.json")
  jq -e 'all(.[]; .state == "ready")' "$SCRATCH/list.json" >/dev/null \
    || fail "trial $trial: a message is not ready: $(jq -c '[.[].state]' "$SCRATCH/list.json")"
  if [ "$count" -eq $((expected + 1)) ]; then
    expected=$count
    id=$(jq -r '.[-1].id' "$SCRATCH/list.json")
    dur=$(jq '.[-1].duration_ms' "$SCRATCH/list.json")
    echo "trial $trial: fed $fed ms before the kill, kept $dur ms"
    [ "$dur" -ge $((fed - 1000)) ] \
      || fail "trial $trial (seed $seed, delay $delay_ms ms): fed $fed ms before the kill, kept $dur ms"
    [ "$dur" -le $((in_ms + 100)) ] || fail "trial $trial: kept $dur ms of a $in_ms ms input"
    "$JIASHU" --home "$H" play "$id" --output "$SCRATCH/out.wav" >/dev/null \
      || fail "trial $trial: the recovered message does not decode"
    out_ms=$(soxi -D "$SCRATCH/out.wav" | awk '{printf "%d", $1 * 1000}')
    [ $((out_ms - dur)) -le 100 ] && [ $((dur - out_ms)) -le 100 ] \
      || fail "trial $trial: decoded $out_ms ms, listed $dur ms"
  elif [ "$count" -eq "$expected" ]; then
    # Nothing kept: only acceptable if less than a second had been fed.
    [ "$fed" -le 1000 ] || fail "trial $trial (seed $seed, delay $delay_ms ms): fed $fed ms, nothing kept"
    [ "$finished" -eq 0 ] || fail "trial $trial: record printed an id but no message is listed"
  else
    fail "trial $trial: $count messages, expected $expected or one more"
  fi
done
[ "$expected" -gt $((trials / 2)) ] || fail "only $expected of $trials trials recorded anything: kills too early"
echo "ok: $trials kills, $expected messages recovered or finished"
