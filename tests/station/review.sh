#!/bin/bash
# Listen before sending: after a reply is recorded, 1 plays it back, 2
# records it again (that take goes), 3 sends it, and * throws it away only
# when pressed twice (any other key keeps it). Until 3, the reply is a draft
# that sync never sends; leaving keeps it as a draft. Each choice is spoken.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/sound_devices.sh"
G=$SCRATCH/grandma
AUDIO=$SCRATCH/audio
TRACE=$SCRATCH/trace
mkdir -p "$AUDIO"
"$JIASHU" --home "$G" setup --relay http://127.0.0.1:9 --name Nainai >/dev/null
speech "$AUDIO/reply.wav" 16000 "收到了，家里都好。"


states() { "$JIASHU" --home "$G" outbox --json | grep -o '"state": "[a-z]*"' | cut -d'"' -f4 | sort | tr '\n' ' '; }
trace_has() { grep -qxF -- "$1" "$TRACE" 2>/dev/null; }
trace_wait() {
  local i
  for i in $(seq 100); do trace_has "$1" && return 0; sleep 0.1; done
  cat "$TRACE" >&2; fail "the trace did not say '$1'"
}

sound_devices
screen_start 80 24 env LANG=C JIASHU_STATION_AUDIO_DIR="$AUDIO" JIASHU_STATION_TRACE="$TRACE" \
  JIASHU_RECORD_PACE_US=20000 JIASHU_STATION_SYNC_SECONDS=3600 JIASHU_STATION_IDLE_SECONDS=120 \
  "$JIASHU" --home "$G" station
screen_wait "No new messages"
# The recorder takes reply.wav at the pace of speech: once its recording is
# in the outbox, a second of wall time is a second of the reply (counted
# from the screen instead, a slow start, as in a sanitizer build, left less).
recording_started() { "$JIASHU" --home "$G" outbox --json | grep -q '"state": "recording"'; }
record_a_second() {
  screen_wait "Recording" 30
  wait_until 30 "the recorder did not start a recording in the outbox" recording_started
  sleep 1
}
record_one() {
  screen_keys 2
  record_a_second
  screen_keys 2
  screen_wait "Your reply is not sent yet" 30
}
record_one
trace_wait "say en review"
[ "$(states)" = "draft " ] || fail "the reply is not kept back as a draft: $(states)"

# 1: heard back, the very reply; then the choices again.
reviews() { grep -cx "say en review" "$TRACE"; }
before=$(reviews)
screen_keys 1
# Played to its end, the choices are said again.
for i in $(seq 300); do [ "$(reviews)" -gt "$before" ] && break; sleep 0.1; done
[ "$(reviews)" -gt "$before" ] || fail "the choices were not said again after listening"
screen_wait "Your reply is not sent yet" 30
draft=$("$JIASHU" --home "$G" outbox --json | grep -o '"id": "[^"]*"' | cut -d'"' -f4)
"$JIASHU" --home "$G" export "$draft" "$SCRATCH/draft.opus"
"$JIASHU" --home "$SCRATCH/tools" decode "$SCRATCH/draft.opus" "$SCRATCH/draft.wav"
d_heard=$(soxi -D "$AUDIO/played-1.wav"); d_sent=$(soxi -D "$SCRATCH/draft.wav")
awk -v a="$d_sent" 'BEGIN { exit !(a > 0.5) }' || fail "the reply recorded only ${d_sent}s"
awk -v a="$d_heard" -v b="$d_sent" 'BEGIN { exit !(a > b - 0.2 && a < b + 0.2) }' ||
  fail "listening played ${d_heard}s, the reply is ${d_sent}s"
[ "$(states)" = "draft " ] || fail "listening changed the reply: $(states)"

# * once asks; another key keeps it.
screen_keys '*'
screen_wait "again: throw it away"
trace_wait "say en discard-ask"
screen_keys 5
screen_wait "Your reply is not sent yet"
[ "$(states)" = "draft " ] || fail "one * and another key lost the reply: $(states)"

# 2: record again; the first take goes, the new one is the draft.
first=$("$JIASHU" --home "$G" outbox --json | grep -o '"id": "[^"]*"' | cut -d'"' -f4)
screen_keys 2
record_a_second
screen_keys 2
screen_wait "Your reply is not sent yet" 30
[ "$(states)" = "draft " ] || fail "recording again left $(states)"
"$JIASHU" --home "$G" outbox --json | grep -q "$first" && fail "the first take is still there"

# * twice throws it away, and says so.
screen_keys '*'
screen_wait "again: throw it away"
screen_keys '*'
screen_wait "Thrown away"
trace_wait "say en discarded"
[ "$(states)" = "" ] || fail "the thrown-away reply is still in the outbox: $(states)"
screen_wait "No new messages" 10

# Leaving (the idle timeout or the end) keeps a draft unsent.
record_one
[ "$(states)" = "draft " ] || fail "no draft: $(states)"
# 3 sends it.
screen_keys 3
screen_wait "Sent"
trace_wait "say en sent"
[ "$(states)" = "ready " ] || fail "3 did not send the reply: $(states)"
echo ok
