#!/bin/bash
# `jiashu play --next` plays every unplayed inbox message, oldest first,
# through the virtual speaker, with the "next" earcon between them and the
# "end" earcon after the last; each then counts as played.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"

note() { # note HZ: a 1.2 s tone as a voice note in the inbox; prints its id
  sox -q -n -r 16000 -c 1 -b 16 "$SCRATCH/t$1.wav" synth 1.2 sine "$1" vol 0.5
  "$JIASHU" encode "$SCRATCH/t$1.wav" "$SCRATCH/t$1.opus" --no-cleanup >/dev/null
  "$INBOX_PUT" "$SCRATCH/jh" "$SCRATCH/t$1.opus" "$(sha256sum <"$SCRATCH/t$1.opus" | cut -d' ' -f1)" grandma
}
virtual_audio
a=$(note 300)
b=$(note 1500)
c=$(note 2200)
"$JIASHU" --home "$SCRATCH/jh" play "$b" --output "$SCRATCH/b.wav" >/dev/null # heard on a file first
[ "$(message_field "$b" 2)" = played ] || fail "b not played after --output"
c_state=$(message_field "$c" 2)
[ "$c_state" = ready ] || fail "c is $c_state"

played=$("$JIASHU" --home "$SCRATCH/jh" play --next </dev/null 2>"$SCRATCH/err") ||
  fail "play --next failed: $(cat "$SCRATCH/err")"
[ "$(echo $played)" = "$a $c" ] || fail "played '$played', expected '$a $c'"
for id in $a $c; do
  [ "$(message_field "$id" 2)" = played ] || fail "$id is $(message_field "$id" 2) after play --next"
done
heard=$("$SIGNAL_CHECK" tones "$SCRATCH/speaker.raw" 16000 | awk '{print int(($2 + 5) / 10) * 10}' | uniq -c |
  awk '$1 >= 2 { print $2 }' | tr '\n' ' ')
[ "$heard" = "300 660 990 2200 990 780 520 " ] ||
  fail "the speaker heard '$heard'; expected the 300 Hz note, next earcon, 2200 Hz note, end earcon"

expect_error_matching "play --next with nothing new" "no new messages" \
  "$JIASHU" --home "$SCRATCH/jh" play --next
echo ok
