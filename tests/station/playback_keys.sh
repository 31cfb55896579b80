#!/bin/bash
# Keys while a letter plays, on the real station with its real children:
# 5 pauses and goes on where it paused, 4 goes back five seconds, 1 starts
# the letter again, 3 steps the speed (kept in the family's own home, so
# another family hears at its own), 6 goes on to the next letter, any other
# key stops. "All new" says each letter before it plays, with the sender's
# name on the screen, resumes a letter stopped half way and skips what was
# heard. Sound goes through files; JIASHU_PLAY_REALTIME makes each letter
# take its own length to "play", so the keys land while it plays.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/sound_devices.sh"
FIXTURE=$1
ST=$SCRATCH/station
AUDIO=$SCRATCH/audio
TRACE=$SCRATCH/trace
mkdir -p "$AUDIO"

echo 2468 | "$JIASHU" --home "$ST" station init --relay http://127.0.0.1:9 >/dev/null
"$FIXTURE" "$ST" add 1111 >/dev/null
"$FIXTURE" "$ST" add 2222 >/dev/null
# Letters long enough to press keys in: 20 s and 8 s.
sox -n -r 16000 -c 1 -b 16 "$SCRATCH/a.wav" synth 20 sine 300 vol 0.3
sox -n -r 16000 -c 1 -b 16 "$SCRATCH/b.wav" synth 8 sine 500 vol 0.3
for n in a b; do "$JIASHU" --home "$SCRATCH/tools" encode "$SCRATCH/$n.wav" "$SCRATCH/$n.opus"; done
A=$("$FIXTURE" "$ST/families/1" deliver "$SCRATCH/a.opus" papa)
sleep 0.01
B=$("$FIXTURE" "$ST/families/1" deliver "$SCRATCH/b.opus" mama)
"$FIXTURE" "$ST/families/2" deliver "$SCRATCH/b.opus" wang >/dev/null

trace_has() { grep -qE -- "$1" "$TRACE" 2>/dev/null; }
trace_wait() {
  local i
  for i in $(seq 150); do trace_has "$1" && return 0; sleep 0.1; done
  cat "$TRACE" >&2; fail "the trace did not say '$1'"
}
# The number at the end of the last trace line matching a pattern.
last_number() { grep -E -- "$1" "$TRACE" | tail -1 | grep -oE '[0-9]+$'; }
lines() { grep -cE -- "$1" "$TRACE" 2>/dev/null || true; }
# Waits for one more trace line matching $1 than there were ($2).
more_lines() {
  local i
  for i in $(seq 150); do [ "$(lines "$1")" -gt "$2" ] && return 0; sleep 0.1; done
  cat "$TRACE" >&2; fail "no new trace line '$1'"
}

sound_devices
screen_start 80 30 env LANG=C JIASHU_STATION_AUDIO_DIR="$AUDIO" JIASHU_STATION_TRACE="$TRACE" \
  JIASHU_PLAY_REALTIME=1 JIASHU_STATION_SYNC_SECONDS=3600 JIASHU_STATION_IDLE_SECONDS=120 \
  "$JIASHU" --home "$ST" station
screen_wait "Type your family number"
screen_keys 1 Enter 1 1 1 1 Enter
screen_wait "New messages: 2"

# 1: who it is from, said before it plays and on the screen; the keys shown.
screen_keys 1
screen_wait_both "Playing 1 of 2" "From papa"
screen_wait "5 Pause / go on"
trace_wait "^say en letter 1$"
trace_wait "^play $A from 0 speed 100$"
grep -nE "^(say en letter 1|play $A from 0)" "$TRACE" | head -1 | grep -q "say en letter" ||
  fail "the letter played before it was said who it is from"

# 5 pauses: nothing plays, the keys are said; 5 again goes on from there.
# The station counts the position from the wall clock: 7 s of it must pass,
# enough that 4 (back 5 s) is told from 1 (the start) below.
sleep 7
screen_keys 5
screen_wait "Paused"
trace_wait "^pause $A at [0-9]+$"
trace_wait "^say en paused$"
paused_at=$(last_number "^pause $A at ")
[ "$paused_at" -ge 6000 ] && [ "$paused_at" -le 10000 ] || fail "paused at ${paused_at} ms, after about 7 s"
# Nothing may play while paused; the station has no timer here, so a play
# would follow the key at once: a second shows it.
sleep 1
grep -qE "^play $A from [1-9]" "$TRACE" && fail "something played while paused"
screen_keys 5
trace_wait "^play $A from $paused_at speed 100$"
screen_wait_gone "Paused"

# 4: back five seconds from where it is.
n=$(lines "^play $A from ")
screen_keys 4
more_lines "^play $A from " "$n"
back=$(last_number "^play $A from [0-9]+ speed")
back=$(grep -E "^play $A from " "$TRACE" | tail -1 | awk '{print $4}')
[ "$back" -ge $((paused_at - 5000)) ] && [ "$back" -le $((paused_at - 3000)) ] ||
  fail "4 went back to ${back} ms from about ${paused_at} ms"

# 1: from the start.
n=$(lines "^play $A from 0 ")
screen_keys 1
more_lines "^play $A from 0 " "$n"

# 3: faster, said, kept in family 1's home, and the letter goes on at it.
# 2 s of playing (wall time, as the station counts it) first, so 6 below
# leaves the letter past its start, to resume there.
sleep 2
screen_keys 3
trace_wait "^speed 125$"
trace_wait "^say en speed-fast$"
trace_wait "^play $A from [0-9]+ speed 125$"
screen_wait "Speed 125%"
[ "$("$JIASHU" --home "$ST/families/1" config play_speed)" = "1.25" ] ||
  fail "the speed is not kept in family 1's home"

# 6: the next letter, introduced; the first stays new, to resume.
screen_keys 6
trace_wait "^next $A at [0-9]+$"
screen_wait_both "Playing 2 of 2" "From mama"
trace_wait "^say en letter 2$"
trace_wait "^play $B from 0 speed 125$"
# Any other key stops, once it has played a second (wall time) to stop.
sleep 1
screen_keys 9
screen_wait "New messages: 2"

# All new again: the first resumes where 6 left it, nothing starts over.
left_at=$(last_number "^next $A at ")
n=$(lines "^play $A from ")
screen_keys 1
more_lines "^play $A from " "$n"
resumed=$(grep -E "^play $A from " "$TRACE" | tail -1 | awk '{print $4}')
[ "$resumed" -gt 0 ] && [ "$resumed" -ge $((left_at - 1500)) ] && [ "$resumed" -le $((left_at + 1500)) ] ||
  fail "the first letter resumed at ${resumed} ms, it was left at ${left_at} ms"
# To the end of both: "that was all", and both are heard.
screen_wait "No new messages" 60
trace_wait "^say en all-done$"
"$JIASHU" --home "$ST/families/1" inbox --json | grep -o '"state": "[a-z]*"' | sort | uniq -c |
  grep -q '2 "state": "played"' || fail "the letters are not both heard"
# Played letters are skipped: 1 now has nothing new.
n=$(lines "^play ")
screen_keys 1
screen_wait "No new messages"
sleep 0.5
[ "$(lines "^play ")" = "$n" ] || fail "a letter already heard played again"

# Family 2 hears at its own speed, not family 1's.
screen_keys '*'
screen_wait "Type your family number"
screen_keys 2 Enter 2 2 2 2 Enter
screen_wait "New messages: 1"
screen_keys 1
trace_wait "^play [0-9a-f-]+ from 0 speed 100$"
screen_stop
echo ok
