#!/bin/bash
# Listen before sending in the CLI: `jiashu record` on a terminal asks,
# after recording, 1 listen, 2 record again, 3 send, * throw away (asked
# twice). It never sends without 3 and never throws away without * twice;
# leaving without a choice keeps a draft. Off a terminal it queues at once,
# as it always did. Driven in tmux like a person at a terminal.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/sound_devices.sh"
H=$SCRATCH/home-p
"$JIASHU" --home "$H" setup --relay http://127.0.0.1:9 --name Mama >/dev/null
sox -n -r 16000 -c 1 -b 16 "$SCRATCH/a.wav" synth 2 sine 400 vol 0.3

# The outbox's states, sorted, on one line.
states() { "$JIASHU" --home "$H" outbox --json | grep -o '"state": "[a-z]*"' | cut -d'"' -f4 | sort | tr '\n' ' '; }
ids() { "$JIASHU" --home "$H" outbox --json | grep -o '"id": "[^"]*"' | cut -d'"' -f4 | sort | tr '\n' ' '; }
ASK="1 listen, 2 record again, 3 send, * throw away"

sound_devices
screen_start 100 30 env LANG=C "$JIASHU" --home "$H" record --input "$SCRATCH/a.wav"
screen_wait "$ASK"
[ "$(states)" = "draft " ] || fail "the note is not held back before a choice: $(states)"
first=$(ids)

# 1: heard through the speaker, then asked again; still a draft.
before=$(speaker_bytes)
screen_keys 1
for i in $(seq 100); do [ "$(speaker_bytes)" -gt $((before + 32000)) ] && break; sleep 0.1; done
[ "$(speaker_bytes)" -gt $((before + 32000)) ] || fail "1 did not play the note"
for i in $(seq 100); do [ "$(screen_text | grep -cF "$ASK")" -ge 2 ] && break; sleep 0.1; done
[ "$(screen_text | grep -cF "$ASK")" -ge 2 ] || fail "not asked again after listening"
[ "$(states)" = "draft " ] || fail "listening changed the note: $(states)"

# * once asks; another key keeps it.
screen_keys '*'
screen_wait "Press * again to throw it away"
screen_keys 5
for i in $(seq 50); do [ "$(screen_text | grep -cF "$ASK")" -ge 3 ] && break; sleep 0.1; done
[ "$(screen_text | grep -cF "$ASK")" -ge 3 ] || fail "not asked again after keeping it"
[ "$(states)" = "draft " ] || fail "one * and another key lost the note: $(states)"

# 2: recorded again; that take goes, the new one is the draft.
screen_keys 2
for i in $(seq 100); do [ "$(screen_text | grep -cF "$ASK")" -ge 4 ] && break; sleep 0.1; done
[ "$(states)" = "draft " ] || fail "recording again left $(states)"
[ "$(ids)" != "$first" ] || fail "the first take is still the draft"

# 3: sent (ready for the next sync), and the program ends.
screen_keys 3
screen_wait "Sent"
for i in $(seq 50); do screen_dead && break; sleep 0.1; done
screen_dead || fail "record did not end after 3"
[ "$(states)" = "ready " ] || fail "3 did not release the note: $(states)"
screen_stop

# * twice throws it away, and says so.
screen_start 100 30 env LANG=C "$JIASHU" --home "$H" record --input "$SCRATCH/a.wav"
screen_wait "$ASK"
screen_keys '*'
screen_wait "Press * again"
screen_keys '*'
screen_wait "Thrown away"
[ "$(states)" = "ready " ] || fail "* twice did not throw the note away: $(states)"
screen_stop

# Ctrl-C at the question is no choice: kept as a draft, not sent.
screen_start 100 30 env LANG=C "$JIASHU" --home "$H" record --input "$SCRATCH/a.wav"
screen_wait "$ASK"
screen_keys C-c
screen_wait "kept as a draft"
[ "$(states)" = "draft ready " ] || fail "Ctrl-C did not keep a draft: $(states)"
screen_stop

# Off a terminal nothing asks: ready at once, as before.
"$JIASHU" --home "$H" record --input "$SCRATCH/a.wav" </dev/null >"$SCRATCH/out" ||
  fail "record off a terminal failed"
grep -qF "$ASK" "$SCRATCH/out" && fail "record asked off a terminal"
[ "$(states)" = "draft ready ready " ] || fail "off a terminal: $(states)"
echo ok
