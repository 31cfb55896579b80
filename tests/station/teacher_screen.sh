#!/bin/bash
# The teacher's screen: quiet hours and quota are saved and shown, the
# families are listed with their storage and last sync, a family that
# cannot join is not kept, and quiet hours silence the station.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/sound_devices.sh"
FIXTURE=$1
ST=$SCRATCH/station

echo 2468 | "$JIASHU" --home "$ST" station init --relay http://127.0.0.1:9
"$FIXTURE" "$ST" add 4321 >/dev/null

sound_devices
screen_start 80 24 env LANG=C JIASHU_STATION_IDLE_SECONDS=60 JIASHU_STATION_PIN_DELAY_MS=100 \
  JIASHU_STATION_TRACE="$SCRATCH/trace" "$JIASHU" --home "$ST" station
screen_wait "Type your family number"
screen_keys '*'
screen_wait "Teacher: type your PIN"
screen_keys 2 4 6 8 Enter
screen_wait "1 Add a family"
screen_wait "4 Storage quota"

screen_keys 4
screen_wait "Storage quota in MB"
screen_wait "Now: none"
screen_keys 2 5 0 Enter
screen_wait "Saved"
screen_wait "1 Add a family"
screen_keys 4
screen_wait "Now: 250 MB"
screen_keys '*'
screen_wait "1 Add a family"

screen_keys 2
screen_wait "Last sync"
screen_text | grep -Eq '^ *1 +[0-9.]+ [KM]B +never' || { screen_text >&2; fail "family 1 is not listed"; }
screen_keys '*'

# Joining through a relay that is not there fails, and leaves no family behind.
screen_keys 1
screen_wait "invite code"
screen_keys 1 2 3 4 5 6 Enter
screen_wait "PIN for the new family"
screen_keys 5 5 5 5 Enter
screen_wait "The same PIN again"
screen_keys 5 5 5 5 Enter
screen_wait "Did not work" 30
screen_wait "1 Add a family" 10
screen_keys 2
screen_wait "Last sync"
[ "$(screen_text | grep -Ec '^ *[0-9]+ +[0-9.]+ [KM]B')" = 1 ] || { screen_text >&2; fail "a family that never joined was kept"; }
[ ! -e "$ST/families/2" ] || fail "the failed family's home was left behind"
screen_keys '*'

# Quiet hours from a minute ago to two hours on: the badge shows, sounds stop.
start=$(date -d '-1 minute' +%H%M)
end=$(date -d '+2 hours' +%H%M)
screen_keys 3
screen_wait "Quiet hours start"
screen_keys $(echo "$start" | grep -o .) Enter
screen_wait "Quiet hours end"
screen_keys $(echo "$end" | grep -o .) Enter
screen_wait "Saved"
screen_wait "1 Add a family"
for i in $(seq 50); do screen_text | head -1 | grep -qF "Quiet hours" && break; sleep 0.1; done
screen_text | head -1 | grep -qF "Quiet hours" || { screen_text >&2; fail "no quiet-hours badge"; }
screen_keys 3
screen_wait "Now: ${start:0:2}:${start:2:2}-${end:0:2}:${end:2:2}"
# "Saved" was said as quiet hours began (the second time, after the
# quota's); the trace ends each prompt with one line (spoke, cut or mute)
# once it is over, and from then on the station must be silent.
saved_over() { [ "$(grep -cxE "(spoke|cut|mute) en saved" "$SCRATCH/trace")" -ge 2 ]; }
wait_until 15 "the trace did not end the 'saved' prompt after saving quiet hours" saved_over
before=$(wc -l <"$SCRATCH/trace")
screen_keys 1 2 3 4
sleep 0.5 # keys sound at once when they sound: half a second shows that none did
after=$(wc -l <"$SCRATCH/trace")
[ "$before" = "$after" ] || fail "the station made sounds in quiet hours"
screen_keys '*'
screen_wait "1 Add a family"
screen_keys '*'
screen_wait "Type your family number"
screen_text | head -1 | grep -qF "Quiet hours" || fail "the start screen does not show quiet hours"
echo ok
