#!/bin/bash
# record --to resolves a name the store has not heard of by asking the
# relay (a member who joined a second ago needs no manual sync); offline
# it says so; a note to oneself is refused at once.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"

start_relay relay 0 --join-burst 20
family "http://127.0.0.1:$RELAY_PORT"
note "$SCRATCH/in.wav" 1

# A third member joins now; the inviting phone's sync finishes the pairing
# (end-to-end encryption: docs/encryption.md). The child's store has never
# heard of the new member, and the child records to it with no sync first.
code=$("$JIASHU" "${PARENT[@]}" family invite) || fail "family invite"
"$JIASHU" --home "$SCRATCH/uncle" setup --relay "http://127.0.0.1:$RELAY_PORT" --name jiujiu
"$JIASHU" --home "$SCRATCH/uncle" family join "$code" || fail "join"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "parent sync (pairing)"
"$JIASHU" --home "$SCRATCH/uncle" sync >/dev/null || true
id=$("$JIASHU" "${CHILD[@]}" record --to jiujiu --input "$SCRATCH/in.wav") ||
  fail "record --to a member who just joined"
"$JIASHU" "${CHILD[@]}" sync >/dev/null || fail "child sync"
"$JIASHU" --home "$SCRATCH/uncle" sync >/dev/null || fail "uncle sync"
[ "$("$JIASHU" --home "$SCRATCH/uncle" inbox --json | jq -r '.[0].id')" = "$id" ] ||
  fail "the new member did not get the note"

# A message named by a short prefix of its id, as the progress lines print it.
"$JIASHU" "${CHILD[@]}" export "${id:0:8}" "$SCRATCH/by-prefix.opus" || fail "export by an 8-character prefix"
"$JIASHU" "${CHILD[@]}" export "$id" "$SCRATCH/by-id.opus" || fail "export by the whole id"
cmp -s "$SCRATCH/by-prefix.opus" "$SCRATCH/by-id.opus" || fail "the prefix named another message"
expect_error_matching "an id nobody has" "not|no " "$JIASHU" "${CHILD[@]}" export zzzz "$SCRATCH/x.opus"

expect_error_matching "a note to oneself" "is you" "$JIASHU" "${PARENT[@]}" record --to mama --input "$SCRATCH/in.wav"
[ "$("$JIASHU" "${PARENT[@]}" outbox --json | jq length)" = 0 ] || fail "the refused note was kept"

# A newer member's first note reaches a member who has sealed nothing
# since it joined: the uncle's inbox answer names a roster he does not
# hold, so his sync fetches it before it opens the note (a stale roster
# would refuse the note as signed by a stranger).
code=$("$JIASHU" "${PARENT[@]}" family invite) || fail "family invite (yeye)"
"$JIASHU" --home "$SCRATCH/yeye" setup --relay "http://127.0.0.1:$RELAY_PORT" --name yeye
"$JIASHU" --home "$SCRATCH/yeye" family join "$code" || fail "join (yeye)"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "parent sync (pairing yeye)"
"$JIASHU" --home "$SCRATCH/yeye" sync >/dev/null || true
nid=$("$JIASHU" --home "$SCRATCH/yeye" record --to jiujiu --input "$SCRATCH/in.wav") || fail "yeye's record"
"$JIASHU" --home "$SCRATCH/yeye" sync >/dev/null || fail "yeye's sync"
"$JIASHU" --home "$SCRATCH/uncle" sync >/dev/null || fail "uncle sync (yeye's note)"
state=$("$JIASHU" --home "$SCRATCH/uncle" inbox --json | jq -r --arg id "$nid" '.[] | select(.id == $id) | .state')
[ "$state" = ready ] || fail "the uncle holds yeye's note as '$state', not ready"

# Offline: an unknown name cannot be checked, and the line says why.
kill -9 "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
expect_error_matching "an unknown name offline" "offline" "$JIASHU" "${PARENT[@]}" record --to nobody --input "$SCRATCH/in.wav"
expect_error_matching "a note to oneself offline" "is you" "$JIASHU" "${PARENT[@]}" record --to mama --input "$SCRATCH/in.wav"
# A known name needs no relay.
"$JIASHU" "${PARENT[@]}" record --to nainai --input "$SCRATCH/in.wav" >/dev/null || fail "record --to a known name offline"
echo ok
