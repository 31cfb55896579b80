#!/bin/bash
# A bedtime letter on the grandparent's station, against a real relay, on a
# test clock (JIASHU_NOW) in a time zone where the letter arrives at about
# 01:00: before 20:30 it is not counted, "1" does not play it and the
# station makes no sound for it; when 20:30 comes while the home screen
# shows, the station chimes, says a bedtime letter has come (the sound
# trace), shows who it is from, and "1" plays it; the parent's outbox then
# shows it played. An ordinary letter sent with it plays as always.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/relay_lib.sh"
. "$TESTS_DIR/station/sound_devices.sh"
. "$TESTS_DIR/station/bedtime_lib.sh"
need_sync
bedtime_clock
start_station_relay
P=$SCRATCH/parent
G=$SCRATCH/grandma
AUDIO=$SCRATCH/audio
TRACE=$SCRATCH/trace
mkdir -p "$AUDIO"

"$JIASHU" --home "$P" setup --relay "$RELAY_URL" --name Mama >/dev/null
"$JIASHU" --home "$P" family create >"$SCRATCH/create.out"
code=$(grep -Eo '[0-9]{4,}' "$SCRATCH/create.out" | tail -1)
"$JIASHU" --home "$G" setup --relay "$RELAY_URL" --name Nainai >/dev/null
"$JIASHU" --home "$G" family join "$code" >/dev/null
"$JIASHU" --home "$P" sync >/dev/null
"$JIASHU" --home "$G" sync >/dev/null

speech "$SCRATCH/plain.wav" 16000 "今天下班早。"
speech "$SCRATCH/bed.wav" 16000 "宝贝，晚安，妈妈想你。"
plain=$("$JIASHU" --home "$P" record --input "$SCRATCH/plain.wav")
bed=$("$JIASHU" --home "$P" record --at 20:30 --input "$SCRATCH/bed.wav")
# As a player makes it (at the playback loudness).
"$JIASHU" --home "$P" play "$bed" --output "$SCRATCH/bed.dec.wav" >/dev/null
"$JIASHU" --home "$P" sync >/dev/null
"$JIASHU" --home "$G" sync >/dev/null
[ "$("$JIASHU" --home "$G" inbox --json | grep -c '"state": "ready"')" = 2 ] ||
  fail "the grandparent's home did not receive both letters"

same_audio() {
  [ "$(sox "$1" -t raw - | sha256sum)" = "$(sox "$2" -t raw - | sha256sum)" ]
}
run_station() { # the clock, in Unix seconds
  rm -f "$TRACE"
  screen_start 80 24 env LANG=C JIASHU_NOW="$1" JIASHU_STATION_AUDIO_DIR="$AUDIO" \
    JIASHU_STATION_TRACE="$TRACE" JIASHU_STATION_SYNC_SECONDS=1 "$JIASHU" --home "$G" station
}

sound_devices
# Five minutes before its time: only the ordinary letter counts and plays.
run_station "$(date -d 'today 20:25' +%s)"
screen_wait "New messages: 1" 30
screen_keys 1
screen_wait "Playing"
screen_wait "No new messages" 30
trace_wait "say en all-done" 10
[ -f "$AUDIO/played-1.wav" ] && [ ! -e "$AUDIO/played-2.wav" ] || fail "1 did not play one letter"
grep -qx "play $plain from 0 speed 100" "$TRACE" || fail "1 did not play the ordinary letter"
screen_keys 1
screen_wait "No new messages"
trace_wait "say en nothing-new" 10
# Not a wait for an event: the home screen counts the letters again each
# second, and two of those counts must still show nothing of the bedtime letter.
sleep 2
screen_lacks "Bedtime letter" "a bedtime letter shows before its time"
trace_lacks "chime|bedtime|play $bed" "the station made a sound for, or played, the bedtime letter before its time"
[ ! -e "$AUDIO/played-2.wav" ] || fail "something played before 20:30"
screen_stop
rm -f "$AUDIO"/played-*.wav # each run numbers them from 1

# A few seconds before its time, left on the home screen: it chimes and
# says so at 20:30, shows who it is from, counts it, and 1 plays it.
run_station "$(date -d 'today 20:29:56' +%s)"
screen_wait "No new messages" 30
trace_wait "earcon chime" 30
trace_wait "say en bedtime"
screen_wait "Bedtime letter from Mama"
screen_wait "New messages: 1"
[ "$(grep -nx "earcon chime" "$TRACE" | cut -d: -f1)" -lt \
  "$(grep -nx "say en bedtime" "$TRACE" | cut -d: -f1)" ] || fail "the chime does not come before the words"
screen_keys 1
screen_wait "Playing"
screen_wait "No new messages" 30
grep -qx "play $bed from 0 speed 100" "$TRACE" || fail "1 did not play the bedtime letter"
same_audio "$AUDIO/played-1.wav" "$SCRATCH/bed.dec.wav" || fail "what played is not the bedtime letter"
[ "$(grep -c "earcon chime" "$TRACE")" = 1 ] || fail "the station chimed more than once"

# The station's own sync sends the receipt; the parent sees it played.
for i in $(seq 60); do
  "$JIASHU" --home "$P" sync >/dev/null 2>&1 || true
  "$JIASHU" --home "$P" outbox >"$SCRATCH/outbox.txt"
  grep "^$bed" "$SCRATCH/outbox.txt" | grep -q "played .*bedtime letter for 20:30" && break
  sleep 0.5
done
grep "^$bed" "$SCRATCH/outbox.txt" | grep -q "played .*bedtime letter for 20:30" ||
  { cat "$SCRATCH/outbox.txt" >&2; fail "the parent's outbox does not show the bedtime letter played"; }
echo ok
