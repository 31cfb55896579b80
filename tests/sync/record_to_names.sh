#!/bin/bash
# record --to resolves a name the store has not heard of by asking the
# relay (a member who joined a second ago needs no manual sync); offline
# it says so; a note to oneself is refused at once.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"

start_relay relay
family "http://127.0.0.1:$RELAY_PORT"
note "$SCRATCH/in.wav" 1

# The parent's store knows nobody yet; a third member joins now.
code=$("$JIASHU" "${PARENT[@]}" family invite) || fail "family invite"
"$JIASHU" --home "$SCRATCH/uncle" setup --relay "http://127.0.0.1:$RELAY_PORT" --name jiujiu
"$JIASHU" --home "$SCRATCH/uncle" family join "$code" || fail "join"
id=$("$JIASHU" "${PARENT[@]}" record --to jiujiu --input "$SCRATCH/in.wav") ||
  fail "record --to a member who just joined"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "parent sync"
"$JIASHU" --home "$SCRATCH/uncle" sync >/dev/null || fail "uncle sync"
[ "$("$JIASHU" --home "$SCRATCH/uncle" inbox --json | jq -r '.[0].id')" = "$id" ] ||
  fail "the new member did not get the note"

expect_error_matching "a note to oneself" "is you" "$JIASHU" "${PARENT[@]}" record --to mama --input "$SCRATCH/in.wav"
[ "$("$JIASHU" "${PARENT[@]}" outbox --json | jq length)" = 1 ] || fail "the refused note was kept"

# Offline: an unknown name cannot be checked, and the line says why.
kill -9 "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
expect_error_matching "an unknown name offline" "offline" "$JIASHU" "${PARENT[@]}" record --to nobody --input "$SCRATCH/in.wav"
expect_error_matching "a note to oneself offline" "is you" "$JIASHU" "${PARENT[@]}" record --to mama --input "$SCRATCH/in.wav"
# A known name needs no relay.
"$JIASHU" "${PARENT[@]}" record --to nainai --input "$SCRATCH/in.wav" >/dev/null || fail "record --to a known name offline"
echo ok
