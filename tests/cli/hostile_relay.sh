#!/bin/bash
# A relay that sends ids and names full of quotes, newlines, terminal escape
# sequences and bidirectional overrides (tests/cli/hostile_relay.py). What
# `family`, `sync` and `inbox` print for a person carries none of those
# bytes raw; their --json output is valid JSON of the documented shape
# (docs/schema/) and gives back the relay's text exactly.
. "$TESTS_DIR/lib.sh"

# No byte a terminal acts on: C0 controls but tab and newline, DEL, C1
# controls (UTF-8 C2 80-9F), bidirectional embeddings, overrides, isolates.
no_raw_controls() {
  perl -ne 'if (/[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]/) { print STDERR "raw control bytes in line $.: ", unpack("H*", $_), "\n"; exit 1 }' "$1" ||
    fail "$2 printed raw control bytes from the relay"
}

sox -q -n -r 16000 -c 1 -b 16 "$SCRATCH/tone.wav" synth 1 sine 440
"$JIASHU" encode "$SCRATCH/tone.wav" "$SCRATCH/note.opus" || fail "encode"
"$PYTHON" "$TESTS_DIR/cli/hostile_relay.py" "$SCRATCH/port" "$SCRATCH/note.opus" 2>"$SCRATCH/relay.log" &
relay=$!
trap 'kill "$relay" 2>/dev/null; wait "$relay" 2>/dev/null || true; cleanup_scratch' EXIT
for _ in $(seq 100); do [ -s "$SCRATCH/port" ] && break; sleep 0.05; done
[ -s "$SCRATCH/port" ] || fail "the hostile relay did not start: $(cat "$SCRATCH/relay.log")"
H=(--home "$SCRATCH/home")
"$JIASHU" "${H[@]}" setup --relay "http://127.0.0.1:$(cat "$SCRATCH/port")" --name me || fail "setup"
"$JIASHU" "${H[@]}" family create >/dev/null || fail "family create"
evil=$(cat "$SCRATCH/port.text")

# family: one line per member, the name escaped; --json gives it back exactly.
"$JIASHU" "${H[@]}" family >"$SCRATCH/family.txt" || fail "family"
no_raw_controls "$SCRATCH/family.txt" "family"
# (An encrypted family lists its signed roster, which the relay cannot
# change: the relay's member names show in --json, from GET /v1/family.)
"$JIASHU" "${H[@]}" family --json >"$SCRATCH/family.json" || fail "family --json"
check_schema family "$SCRATCH/family.json"
[ "$(jq -c '[.[] | select(.this_device | not) | .name]' "$SCRATCH/family.json")" = "[$(jq -c .name <<<"$evil")]" ] ||
  fail "family --json changed the name: $(cat "$SCRATCH/family.json")"

# sync: the entry with a bad id is refused, by its escaped id; the two others arrive.
# (A message that could not move makes sync exit 1, with one line saying so.)
rc=0; "$JIASHU" "${H[@]}" sync >"$SCRATCH/sync.txt" 2>"$SCRATCH/sync.err" || rc=$?
[ "$rc" = 1 ] && [ "$(wc -l <"$SCRATCH/sync.err")" = 1 ] || fail "sync: exit $rc: $(cat -v "$SCRATCH/sync.txt" "$SCRATCH/sync.err")"
no_raw_controls "$SCRATCH/sync.err" "sync's error line"
no_raw_controls "$SCRATCH/sync.txt" "sync"
grep -qF 'not moved \x1b[31m"id\x0a\u{009b}x' "$SCRATCH/sync.txt" || fail "sync does not name the refused id escaped: $(cat -v "$SCRATCH/sync.txt")"
# The two plain notes are refused (this family encrypts), by their ids.
[ "$(grep -c '^refused 0f0f0f0f-' "$SCRATCH/sync.txt")" = 2 ] || fail "sync did not account for the two notes: $(cat -v "$SCRATCH/sync.txt")"

# sync --json, on a fresh home: every line is an event of the schema, the refused id exact.
H2=(--home "$SCRATCH/home2")
"$JIASHU" "${H2[@]}" setup --relay "http://127.0.0.1:$(cat "$SCRATCH/port")" --name me2 || fail "setup 2"
"$JIASHU" "${H2[@]}" family create >/dev/null || fail "family create 2"
rc=0; "$JIASHU" "${H2[@]}" sync --json >"$SCRATCH/sync.json" 2>"$SCRATCH/sync2.err" || rc=$?
[ "$rc" = 1 ] || fail "sync --json: exit $rc: $(cat "$SCRATCH/sync2.err")"
check_schema sync-event "$SCRATCH/sync.json" --lines
jq -se --argjson e "$evil" '[.[] | select(.event == "failed") | .id] == [$e.id]' "$SCRATCH/sync.json" >/dev/null ||
  fail "sync --json did not give the refused id back exactly: $(cat "$SCRATCH/sync.json")"
[ "$(jq -s '[.[] | select(.event == "refused")] | length' "$SCRATCH/sync.json")" = 2 ] || fail "sync --json: not 2 refused"

# inbox: the hostile sender escaped; --json exact.
"$JIASHU" "${H[@]}" inbox >"$SCRATCH/inbox.txt" || fail "inbox"
no_raw_controls "$SCRATCH/inbox.txt" "inbox"
[ "$(wc -l <"$SCRATCH/inbox.txt")" = 2 ] || fail "inbox printed $(wc -l <"$SCRATCH/inbox.txt") lines for 2 messages: $(cat -v "$SCRATCH/inbox.txt")"
grep -qF '\x1b]0;pwned\x07' "$SCRATCH/inbox.txt" || fail "inbox does not show the sender escaped: $(cat -v "$SCRATCH/inbox.txt")"
"$JIASHU" "${H[@]}" inbox --json >"$SCRATCH/inbox.json" || fail "inbox --json"
check_schema inbox "$SCRATCH/inbox.json"
jq -e --argjson e "$evil" '[.[].from_device][1] == $e.name' "$SCRATCH/inbox.json" >/dev/null ||
  fail "inbox --json changed the senders: $(cat "$SCRATCH/inbox.json")"
"$JIASHU" "${H[@]}" outbox --json >"$SCRATCH/outbox.json" || fail "outbox --json"
check_schema outbox "$SCRATCH/outbox.json"
echo ok
