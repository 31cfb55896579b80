#!/bin/bash
# A hostile relay: its operator edits its database between the devices'
# syncs. It swaps its own key into a pairing, replays a note into another
# family, flips one byte of a stored note (fixing the checksum it serves),
# drops a chunk, and forges a "played" receipt. Each is refused with one
# clear line; nothing refused is played, marked or acknowledged. Then a
# removed device is not among the recipients of the next note, which the
# members who stay still hear.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
. "$TESTS_DIR/e2e/e2e_lib.sh"

start_e2e_relay
MAMA=$SCRATCH/mama NAINAI=$SCRATCH/nainai BABA=$SCRATCH/baba EVE=$SCRATCH/eve
home mama mama; home nainai nainai; home baba baba; home eve eve
J --home "$MAMA" family create >/dev/null || fail "family create"
pair "$MAMA" "$NAINAI"
J --home "$BABA" family create >/dev/null || fail "family create (B)"
J --home "$EVE" family create >/dev/null || fail "family create (the relay's own)"

# no_ready HOME ID: the note is not playable and nothing was acknowledged.
no_ready() {
  local st
  st=$(J --home "$1" inbox --json | jq -r ".[] | select(.id == \"$2\") | .state")
  [ "$st" != ready ] && [ "$st" != played ] || fail "a refused note is $st on $1"
  [ "$(relay_query "SELECT count(*) FROM receipts r JOIN messages m ON m.id = r.message WHERE m.message_id = '$2' AND r.device_id = '$(device_id "$1")'")" = 0 ] ||
    fail "a refused note was acknowledged"
}

# 1. A key swapped during pairing: the relay puts its own message A (from a
# pairing of its own family, so a valid CPace share) in place of mama's.
code=$(J --home "$MAMA" family invite) || fail "invite"
evecode=$(J --home "$EVE" family invite) || fail "invite (relay's family)"
relay_sql "UPDATE pairings SET msg_a = (SELECT msg_a FROM pairings WHERE nameplate = '${evecode:0:4}') WHERE nameplate = '${code:0:4}'"
home uncle jiujiu
UNCLE=$HOME_DIR
J --home "$UNCLE" family join "$code" >/dev/null || fail "join (uncle)"
J --home "$MAMA" sync >"$SCRATCH/m.out" || fail "sync (mama)"
grep -q "pairing failed: the codes do not match" "$SCRATCH/m.out" || fail "mama was not told the pairing failed: $(cat "$SCRATCH/m.out")"
expect_error_matching "the joiner after a swapped key" "pairing failed|refused" J --home "$UNCLE" sync
[ -z "$(J --home "$UNCLE" config device_id 2>/dev/null)" ] || fail "the uncle was given a device after a swapped key"
J --home "$MAMA" family | grep -q jiujiu && fail "mama trusts the uncle after a swapped key"

# 2. A note replayed into another family.
speech "$SCRATCH/a.wav" 16000 "奶奶，我是妈妈，今天很好。"
ida=$(J --home "$MAMA" record --input "$SCRATCH/a.wav") || fail "record"
J --home "$MAMA" sync >/dev/null || fail "sync"
# (The operator moves the note to baba's family and his mailbox, so the
# relay serves it to him as his family's.)
relay_sql "UPDATE messages SET family_id = '$(J --home "$BABA" config family_id)', recipients = '$(device_id "$BABA")' WHERE message_id = '$ida';
  INSERT INTO mailbox(device_id, message) SELECT '$(device_id "$BABA")', id FROM messages WHERE message_id = '$ida'"
J --home "$BABA" sync >"$SCRATCH/b.out" || fail "sync (baba)"
grep -q "refused $ida: refused: the message belongs to another family" "$SCRATCH/b.out" || fail "the replayed note was not refused: $(cat "$SCRATCH/b.out")"
no_ready "$BABA" "$ida"
J --home "$BABA" sync >"$SCRATCH/b2.out"; grep -q "^received\|^refused" "$SCRATCH/b2.out" && fail "a refused note was fetched again"

# flip OFFSET_FROM_END ID / drop ID: the operator edits the stored note and
# serves a matching SHA-256, so only the end-to-end checks can see it.
flip() {
  relay_py "$1" "$2" <<'PY'
at, mid = int(args[0]), args[1]
data = bytearray(db.execute("SELECT data FROM messages WHERE message_id = ?", (mid,)).fetchone()[0])
data[at] ^= 0x01
db.execute("UPDATE messages SET data = ?, sha256 = ? WHERE message_id = ?", (bytes(data), hashlib.sha256(data).digest(), mid))
PY
}
drop_chunk() {
  relay_py "$1" <<'PY'
mid = args[0]
data = db.execute("SELECT data FROM messages WHERE message_id = ?", (mid,)).fetchone()[0]
hlen = 114 + 96 * data[113]
stride = int.from_bytes(data[5:9], "little") + 16
assert len(data) > hlen + 2 * stride + 64, "the note is too short to drop a middle chunk"
data = data[:hlen + stride] + data[hlen + 2 * stride:]
db.execute("UPDATE messages SET data = ?, length = ?, received = ?, sha256 = ? WHERE message_id = ?",
           (data, len(data), len(data), hashlib.sha256(data).digest(), mid))
PY
}

# 3. One byte flipped in a stored note.
idf=$(J --home "$MAMA" record --input "$SCRATCH/a.wav") || fail "record"
J --home "$MAMA" sync >/dev/null || fail "sync"
flip 400 "$idf"
J --home "$NAINAI" sync >"$SCRATCH/n.out" || fail "sync (nainai)"
grep -Eq "refused $idf: refused: .*(changed|signature)" "$SCRATCH/n.out" || fail "the flipped note was not refused: $(cat "$SCRATCH/n.out")"
grep -q "refused $idf" "$SCRATCH/n.out" || fail "nainai did not refuse the flipped note"
no_ready "$NAINAI" "$idf"

# 4. A chunk dropped from a longer note (three chunks and more).
speech "$SCRATCH/long.wav" 16000 "$(printf '宝贝要听话，好好学习，天天向上，过年爸爸妈妈就回家了。%.0s' 1 2 3 4 5 6)"
idd=$(J --home "$MAMA" record --input "$SCRATCH/long.wav") || fail "record (long)"
J --home "$MAMA" sync >/dev/null || fail "sync"
drop_chunk "$idd"
J --home "$NAINAI" sync >"$SCRATCH/n2.out" || fail "sync (nainai)"
grep -Eq "refused $idd: refused: " "$SCRATCH/n2.out" || fail "the note with a dropped chunk was not refused: $(cat "$SCRATCH/n2.out")"
no_ready "$NAINAI" "$idd"
J --home "$NAINAI" inbox --json | jq -e "[.[] | select(.state == \"ready\")] | length == 0" >/dev/null || fail "something refused is still playable"

# 5. A forged "played" receipt for a note nainai has not even fetched.
idr=$(J --home "$MAMA" record --input "$SCRATCH/a.wav") || fail "record"
J --home "$MAMA" sync >/dev/null || fail "sync"
relay_sql "INSERT INTO receipts(message, device_id, state, at) SELECT id, '$(device_id "$NAINAI")', 'played', 1 FROM messages WHERE message_id = '$idr'"
relay_sql "INSERT INTO receipt_proofs(message, device_id, state, proof) SELECT id, '$(device_id "$NAINAI")', 'played', '$(head -c 64 /dev/zero | base64 -w0)' FROM messages WHERE message_id = '$idr'"
J --home "$MAMA" sync >"$SCRATCH/m2.out" || fail "sync (mama)"
grep -q "ignored a 'played' receipt for $idr: refused: a receipt whose signature does not match" "$SCRATCH/m2.out" ||
  fail "the forged receipt was not refused: $(cat "$SCRATCH/m2.out")"
[ "$(J --home "$MAMA" outbox --json | jq -r ".[] | select(.id == \"$idr\") | .state")" = sent ] || fail "the forged receipt marked the note"

# 6. A removed device cannot read what is sent after; members who stay can.
home papa papa
PAPA=$HOME_DIR
pair "$MAMA" "$PAPA"
J --home "$MAMA" family remove papa | grep -q "removed papa" || fail "family remove"
J --home "$NAINAI" sync >/dev/null || fail "sync (nainai)"
J --home "$NAINAI" family | grep -q papa && fail "nainai still lists papa after his removal"
idx=$(J --home "$MAMA" record --input "$SCRATCH/a.wav") || fail "record after the removal"
J --home "$MAMA" sync >/dev/null || fail "sync"
relay_py "$idx" "$(device_id "$PAPA")" "$(device_id "$NAINAI")" <<'PY'
mid, papa, nainai = args
data = db.execute("SELECT data FROM messages WHERE message_id = ?", (mid,)).fetchone()[0]
ids = [data[114 + 96 * i:130 + 96 * i].hex() for i in range(data[113])]
assert papa not in ids, "the note was sealed for the removed device"
assert nainai in ids, "the note was not sealed for the member who stays"
PY
# Even handed the note by the relay, the removed device cannot open it.
relay_sql "INSERT INTO mailbox(device_id, message) SELECT '$(device_id "$PAPA")', id FROM messages WHERE message_id = '$idx';
  UPDATE messages SET recipients = recipients || ',$(device_id "$PAPA")' WHERE message_id = '$idx';
  UPDATE devices SET revoked = 0 WHERE id = '$(device_id "$PAPA")'"
J --home "$PAPA" sync >"$SCRATCH/x.out" 2>&1 || true
grep -Eq "refused $idx: refused: (the message was not encrypted for this device|the sender is not a member)" "$SCRATCH/x.out" ||
  fail "the removed device was not refused: $(cat "$SCRATCH/x.out")"
no_ready "$PAPA" "$idx"
J --home "$NAINAI" sync >/dev/null || fail "sync (nainai)"
[ "$(J --home "$NAINAI" inbox --json | jq -r ".[] | select(.id == \"$idx\") | .state")" = ready ] || fail "the member who stays cannot read the note"
echo ok
