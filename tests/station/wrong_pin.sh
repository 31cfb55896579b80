#!/bin/bash
# A wrong PIN is refused, keys do nothing while the station makes the guesser
# wait, the next wrong PIN waits longer, and the wait survives a restart.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/sound_devices.sh"
FIXTURE=$1
ST=$SCRATCH/station

echo 2468 | "$JIASHU" --home "$ST" station init --relay http://127.0.0.1:9
fam=$("$FIXTURE" "$ST" add 4321)
[ "$fam" = 1 ] || fail "the first family is number 1, got '$fam'"

run_station() {
sound_devices
  screen_start 80 24 env LANG=C JIASHU_STATION_PIN_DELAY_MS=1000 JIASHU_STATION_IDLE_SECONDS=60 \
    JIASHU_STATION_TRACE="$SCRATCH/trace" "$JIASHU" --home "$ST" station
}
run_station
screen_wait "Type your family number"
screen_keys 1 Enter
screen_wait "Family 1: type your PIN"
screen_keys 9 8 7 6
sleep 0.3
screen_lacks 9876 "the PIN is shown on the screen"
ms() { date +%s%3N; }
# waited_at_least MS: the refusal screen lasted at least that long (a lower
# bound, which a busy machine cannot break) before the start came back.
waited_at_least() {
  local start end
  start=$(ms)
  screen_wait "Type your family number" 20
  end=$(ms)
  [ $((end - start)) -ge "$1" ] || fail "the wait lasted $((end - start)) ms, not $1 ms"
}
screen_keys Enter
t0=$(ms)
screen_wait_both "Wrong number or PIN" "Please wait"
screen_lacks "[1]" "a refused family's number stays on the screen"

# The right PIN typed during the wait opens nothing.
screen_keys 1 Enter 4 3 2 1 Enter
sleep 0.3
screen_lacks "1 Play new" "a PIN typed during the wait was accepted"
waited_at_least $((1000 - ($(ms) - t0)))
screen_lacks "1 Play new" "a PIN typed during the wait was accepted"

# The second wrong PIN waits twice as long.
screen_keys 1 Enter 1 1 1 1 Enter
screen_wait "Wrong number or PIN"
waited_at_least 1800

# A third one; pulling the plug during its wait does not end the wait:
# after a restart the right PIN is still refused.
screen_keys 1 Enter 2 2 2 2 Enter
screen_wait "Wrong number or PIN"
screen_stop
run_station
screen_wait "Type your family number"
screen_keys 1 Enter 4 3 2 1 Enter
screen_wait "Wrong number or PIN"
screen_lacks "1 Play new" "a restart reset the wait"
waited_at_least 500

# After the wait, the right PIN opens the family.
screen_keys 1 Enter 4 3 2 1 Enter
screen_wait "1 Play new"
screen_wait "[1]"
screen_lacks 4321 "the PIN is shown on the screen"

# Every key answered with a sound.
grep -q "earcon error" "$SCRATCH/trace" || fail "a refused PIN made no error sound"
grep -q "earcon ok" "$SCRATCH/trace" || fail "opening the family made no sound"
n=$(grep -c earcon "$SCRATCH/trace")
[ "$n" -ge 30 ] || fail "only $n sounds for over 30 keys"
echo ok
