#!/bin/bash
# The play_speed setting plays faster or slower without changing the pitch:
# a 2 s tone of 1000 Hz lasts about 1 s at 2x and about 2.7 s at 0.75x, and
# is still 1000 Hz. Out-of-range settings play at normal speed.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"

sox -q -n -r 16000 -c 1 -b 16 "$SCRATCH/tone.wav" synth 2 sine 1000 vol 0.5
"$JIASHU" encode "$SCRATCH/tone.wav" "$SCRATCH/tone.opus" --no-cleanup >/dev/null
put() { "$INBOX_PUT" "$SCRATCH/jh" "$SCRATCH/tone.opus" "$(sha256sum <"$SCRATCH/tone.opus" | cut -d' ' -f1)" dad; }

# check SPEED EXPECTED_SECONDS: plays a new copy at that setting
check() {
  local id
  id=$(put)
  if [ "${3:-}" = by-hand ]; then # a value the store would refuse, written behind its back
    sqlite3 "$SCRATCH/jh/jiashu.db" "UPDATE settings SET value = '$1' WHERE key = 'play_speed'"
  else
    "$JIASHU" --home "$SCRATCH/jh" config play_speed "$1"
  fi
  virtual_audio
  "$JIASHU" --home "$SCRATCH/jh" play "$id" </dev/null >/dev/null 2>"$SCRATCH/err" ||
    fail "play at $1 failed: $(cat "$SCRATCH/err")"
  [ "$(message_field "$id" 2)" = played ] || fail "at $1 the message did not count as played"
  # the sound's length: 20 ms windows with a tone in them
  local windows hz
  windows=$("$SIGNAL_CHECK" tones "$SCRATCH/speaker.raw" 16000 | wc -l)
  awk -v w="$windows" -v e="$2" 'BEGIN { s = w * 0.02; exit !(s > e - 0.2 && s < e + 0.2) }' ||
    fail "at speed $1 the tone lasted $(awk -v w="$windows" 'BEGIN{print w*0.02}') s, expected $2 s"
  hz=$("$SIGNAL_CHECK" tones "$SCRATCH/speaker.raw" 16000 | awk '{print int(($2 + 5) / 10) * 10}' | sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}')
  [ "$hz" = 1000 ] || fail "at speed $1 the pitch moved to $hz Hz"
}
check 1 2.0
check 2 1.0
check 0.75 2.67
check 1.5 1.33
expect_error_matching "a speed out of range" "play_speed wants a number from 0.5 to 2" \
  "$JIASHU" --home "$SCRATCH/jh" config play_speed 3
[ "$("$JIASHU" --home "$SCRATCH/jh" config play_speed)" = 1.5 ] || fail "a refused speed replaced the last one"
check 3 2.0 by-hand # out of range: normal speed
echo ok
