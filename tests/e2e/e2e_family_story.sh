#!/bin/bash
# The whole story encrypted end to end through a real relay: a parent and a
# grandmother paired by code, a school station holding two families (each
# family's home under the station), notes both ways and a reply, receipts.
# Then the relay's database and files are searched as a thief would: no
# Ogg page, no Opus header, and no run of 32 bytes or more of any note.
# And each family home at the station holds only its own keys.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
. "$TESTS_DIR/e2e/e2e_lib.sh"

start_e2e_relay
MAMA=$SCRATCH/mama NAINAI=$SCRATCH/nainai BABA=$SCRATCH/baba
ST1=$SCRATCH/station/families/1 ST2=$SCRATCH/station/families/2
home mama mama; home nainai nainai; home baba baba
home station/families/1 school; home station/families/2 school

# Family A: mama founds it; nainai and the station's home 1 pair by code.
code=$(J --home "$MAMA" family create) || fail "family create (A)"
echo "$code" | grep -Eq '^[0-9]{10}$' || fail "family create printed '$code', not a 10-digit code"
J --home "$NAINAI" family join "$code" | grep -q "waiting" || fail "join did not say it waits for the inviter"
J --home "$MAMA" sync | grep -q "paired: nainai" || fail "the parent's sync did not pair nainai"
J --home "$NAINAI" sync | grep -q "joined" || fail "nainai's sync did not finish the pairing"
pair "$MAMA" "$ST1"
# Family B: baba founds it; the station's home 2 pairs with it.
codeb=$(J --home "$BABA" family create) || fail "family create (B)"
J --home "$ST2" family join "$codeb" >/dev/null || fail "join (station B)"
J --home "$BABA" sync >/dev/null && J --home "$ST2" sync >/dev/null || fail "pairing station B"

J --home "$NAINAI" family >"$SCRATCH/members"
for who in mama nainai school; do grep -q "^$who" "$SCRATCH/members" || fail "nainai's roster lacks $who"; done
[ "$(wc -l <"$SCRATCH/members")" = 3 ] || fail "nainai's roster is not the three of family A"
J --home "$MAMA" family | grep -q "^school" || fail "the parent's roster lacks the station"

# Notes: mama to the family, baba to his; a reply from nainai to mama.
speech "$SCRATCH/a.wav" 16000 "妈妈今天下班早，宝贝要听话，好好学习，过年我们就回家了。"
speech "$SCRATCH/b.wav" 16000 "爸爸想你了，你在学校好吗？"
speech "$SCRATCH/r.wav" 16000 "收到了，家里都好，放心吧。"
ida=$(J --home "$MAMA" record --input "$SCRATCH/a.wav") || fail "record (mama)"
idb=$(J --home "$BABA" record --input "$SCRATCH/b.wav") || fail "record (baba)"
J --home "$MAMA" sync >/dev/null && J --home "$BABA" sync >/dev/null || fail "senders' sync"
for h in "$NAINAI" "$ST1" "$ST2"; do J --home "$h" sync >"$SCRATCH/s.out" || fail "sync $h"; done
[ "$(J --home "$NAINAI" inbox --json | jq -r ".[] | select(.id == \"$ida\") | .state")" = ready ] ||
  fail "nainai does not hold mama's note ready"
[ "$(J --home "$ST1" inbox --json | jq -r ".[] | select(.id == \"$ida\") | .encrypted")" = true ] ||
  fail "the station's family-1 home does not list mama's note as encrypted"
[ "$(J --home "$ST2" inbox --json | jq -r '.[].id')" = "$idb" ] || fail "the station's family-2 home holds other than baba's note"
J --home "$ST1" inbox --json | grep -q "$idb" && fail "family 1's home got family 2's note"
J --home "$NAINAI" export "$ida" "$SCRATCH/got.opus" && J --home "$MAMA" export "$ida" "$SCRATCH/sent.opus" || fail "export"
cmp -s "$SCRATCH/sent.opus" "$SCRATCH/got.opus" || fail "nainai's note differs from what mama recorded"
J --home "$NAINAI" play --next --output "$SCRATCH/heard.wav" >/dev/null || fail "play (nainai)"
J --home "$ST2" play --next --output "$SCRATCH/heard2.wav" >/dev/null || fail "play (station B)"
idr=$(J --home "$NAINAI" record --to mama --input "$SCRATCH/r.wav") || fail "record (reply)"
J --home "$NAINAI" sync >/dev/null || fail "sync (reply)"
J --home "$MAMA" sync >/dev/null || fail "sync (mama gets the reply)"
J --home "$MAMA" play --next --output "$SCRATCH/reply-heard.wav" >/dev/null || fail "play (the reply)"
J --home "$NAINAI" sync >/dev/null; J --home "$BABA" sync >/dev/null; J --home "$ST2" sync >/dev/null
J --home "$MAMA" sync >/dev/null; J --home "$BABA" sync >/dev/null; J --home "$NAINAI" sync >/dev/null
[ "$(J --home "$MAMA" outbox --json | jq -r ".[] | select(.id == \"$ida\") | .state")" = played ] ||
  fail "mama does not see her note played (signed receipt)"
[ "$(J --home "$BABA" outbox --json | jq -r ".[] | select(.id == \"$idb\") | .state")" = played ] ||
  fail "baba does not see his note played"
[ "$(J --home "$NAINAI" outbox --json | jq -r ".[] | select(.id == \"$idr\") | .state")" = played ] ||
  fail "nainai does not see her reply played"

# The relay's files, as a thief would take them.
J --home "$BABA" export "$idb" "$SCRATCH/note-b.opus" && J --home "$NAINAI" export "$idr" "$SCRATCH/note-r.opus" || fail "export"
relay_query "PRAGMA wal_checkpoint(PASSIVE);" >/dev/null
python3 - "$SCRATCH" "$SCRATCH"/relay.db* <<'PY' || fail "the relay holds plaintext"
import sys, glob
scratch, files = sys.argv[1], sys.argv[2:]
notes = [open(f"{scratch}/{n}", "rb").read() for n in ("sent.opus", "note-b.opus", "note-r.opus")]
assert all(n.startswith(b"OggS") for n in notes)
# Any run of 32 bytes of a note holds one of its 16-byte blocks at an
# offset that is a multiple of 16: look for every such block.
blocks = {n[i:i + 16] for n in notes for i in range(0, len(n) - 15, 16)}
bad = 0
for f in files:
    data = open(f, "rb").read()
    for magic in (b"OggS", b"OpusHead", b"OpusTags"):
        if magic in data:
            print(f"{f}: holds {magic!r}"); bad += 1
    hits = sum(1 for i in range(len(data) - 15) if data[i:i + 16] in blocks)
    if hits:
        print(f"{f}: holds {hits} 16-byte blocks of the notes"); bad += 1
    print(f"{f}: {len(data)} bytes searched")
sys.exit(1 if bad else 0)
PY

# Each family's home at the station holds its own keys and no other's.
python3 - "$ST1/jiashu.db" "$ST2/jiashu.db" <<'PY' || fail "the station's family homes share keys"
import sqlite3, sys
def vault(path):
    db = sqlite3.connect(path)
    rows = dict(((k, key), v) for k, key, v in db.execute("SELECT kind, key, data FROM blobs"))
    return rows[("e2e", "identity")], rows[("e2e", "roster")]
(id1, r1), (id2, r2) = vault(sys.argv[1]), vault(sys.argv[2])
assert len(id1) == len(id2) == 160
sk1, sk2 = id1[32:96], id2[32:96]  # Ed25519 secret halves
bx1, bx2 = id1[128:160], id2[128:160]  # X25519 secrets
assert r1[12:28] != r2[12:28], "both homes hold the same family's roster"
for path, others in ((sys.argv[1], (sk2, bx2)), (sys.argv[2], (sk1, bx1))):
    data = b"".join(open(p, "rb").read() for p in (path, path + "-wal") if __import__("os").path.exists(p))
    for secret in others:
        assert secret not in data, f"{path} holds the other family's secret key"
# Each roster lists its own family's members only.
assert id2[:32] not in r1 and id1[:32] not in r2
print("each family home holds only its own keys")
PY
echo ok
