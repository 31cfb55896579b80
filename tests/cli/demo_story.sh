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
  # Played through PortAudio into the virtual speaker: the letter itself is
  # there, found by correlation with the decoded note (the earcons around it
  # would give any level check its loudness).
  [ -s "$SCRATCH/out/heard.wav" ] || fail "nothing was played"
  "$JIASHU" decode "$SCRATCH/out/letter.opus" "$SCRATCH/letter.wav" || fail "the letter does not decode"
  # Two seconds of speech from the letter, both at 4 kHz: the search slides
  # over every lag, so fewer samples keep it quick.
  sox -q "$SCRATCH/letter.wav" -r 4000 -c 1 -b 16 -e signed -t raw "$SCRATCH/letter.raw" trim 1 2
  sox -q "$SCRATCH/out/heard.wav" -r 4000 -c 1 -b 16 -e signed -t raw "$SCRATCH/heard.raw"
  "$SIGNAL_CHECK" find "$SCRATCH/letter.raw" "$SCRATCH/heard.raw" 0.8 ||
    fail "what reached the speaker is not the letter"
fi
for _ in $(seq 50); do pgrep -f "jiashu-relay --listen 127.0.0.1:0 --db $SCRATCH/" >/dev/null || break; sleep 0.05; done
! pgrep -f "jiashu-relay --listen 127.0.0.1:0 --db $SCRATCH/" >/dev/null || fail "the demo left its relay running"
echo ok
