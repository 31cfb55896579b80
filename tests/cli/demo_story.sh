#!/bin/bash
# The README's main command, run against the programs of this build: the
# whole trip must end with the parent seeing "played", and leave no relay
# running behind it.
. "$TESTS_DIR/lib.sh"

DEMO_OUT=$SCRATCH/out TMPDIR=$SCRATCH bash "$TESTS_DIR/../app/demo.sh" >"$SCRATCH/demo.log" 2>&1 ||
  { cat "$SCRATCH/demo.log" >&2; fail "the demo did not finish"; }
grep -q "was recorded, sent, delivered and heard" "$SCRATCH/demo.log" || fail "the demo did not end with the letter heard"
grep -Eq '^[0-9a-f-]{36} +played' "$SCRATCH/demo.log" || fail "the parent's outbox never showed 'played'"
if [ -z "$(aplay -l 2>/dev/null | grep '^card ')" ]; then
  # Played through PortAudio into the virtual speaker: the speech is there.
  [ -s "$SCRATCH/out/heard.wav" ] || fail "nothing was played"
  rms=$(sox "$SCRATCH/out/heard.wav" -n stat 2>&1 | awk '/^RMS +amplitude/ { print $3 }')
  awk -v r="$rms" 'BEGIN { exit !(r > 0.02) }' || fail "the speaker heard silence (RMS $rms)"
fi
sleep 0.2
! pgrep -f "jiashu-relay --listen 127.0.0.1:0 --db $SCRATCH/" >/dev/null || fail "the demo left its relay running"
echo ok
