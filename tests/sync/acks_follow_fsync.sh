#!/bin/bash
# Durability on power loss: a kill leaves the page cache, so only the order
# of system calls shows whether an acknowledgement could outlive a power
# cut. tests/sync/sync_order.c, preloaded, logs every write to an SQLite
# WAL, every fsync/fdatasync of it, and every acknowledgement. Nothing may
# be acknowledged while a WAL write is unsynced:
#  - the relay's 2xx answers to the requests that wrote (group commit);
#  - the store's: `record` printing the id of what it kept, and a sync's
#    "delivered" receipt, sent only once the downloaded note is durable.
# And the syncs must happen: at least one per acknowledgement that wrote.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
[ -n "${SYNC_ORDER:-}" ] || fail "run through meson (SYNC_ORDER)"
# In a sanitizer build the shim is preloaded ahead of ASan's runtime.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

# check LOG WHAT MIN_ACKS: no acknowledgement with an unsynced WAL write,
# at least MIN_ACKS acknowledgements, and at least as many syncs.
check() {
  local log=$1 what=$2 min=$3 acks syncs
  grep -q '^A 1 ' "$log" && fail "$what acknowledged before its WAL write was synced: $(grep -m3 '^A 1 ' "$log" | tr '\n' ';')"
  acks=$(grep -c '^A 0 ' "$log" || true)
  syncs=$(grep -c '^S$' "$log" || true)
  echo "$what: $acks acknowledgements, $syncs WAL syncs, $(grep -c '^W$' "$log" || true) WAL writes"
  [ "$acks" -ge "$min" ] || fail "$what: only $acks acknowledgements seen (the shim saw nothing?)"
  [ "$syncs" -ge "$min" ] || fail "$what: $syncs WAL syncs for $acks acknowledgements"
}

# The relay, preloaded.
LD_PRELOAD=$SYNC_ORDER JIASHU_SYNC_LOG=$SCRATCH/relay.sync start_relay relay
url=http://127.0.0.1:$RELAY_PORT
family "$url"
# Five invites, one after the other: five writes, five answers.
: >"$SCRATCH/relay.sync"
token=$(sqlite3 "$SCRATCH/parent/jiashu.db" "SELECT value FROM settings WHERE key = 'device_token'")
[ ${#token} = 64 ] || fail "no device token in the parent's store"
for _ in 1 2 3 4 5; do
  curl -sf -X POST -H "Authorization: Bearer $token" "$url/v1/invites" >/dev/null || fail "POST /v1/invites"
done
check "$SCRATCH/relay.sync" "the relay (invites)" 5

# The store: a recording's id is printed only once it is durable.
note "$SCRATCH/n.wav" 4
id=$(LD_PRELOAD=$SYNC_ORDER JIASHU_SYNC_LOG=$SCRATCH/record.sync "$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/n.wav") ||
  fail "record"
check "$SCRATCH/record.sync" "record" 1

# Upload through the preloaded relay; the child's download is durable
# before its "delivered" receipt leaves.
: >"$SCRATCH/relay.sync"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "parent sync"
check "$SCRATCH/relay.sync" "the relay (upload)" 1
LD_PRELOAD=$SYNC_ORDER JIASHU_SYNC_LOG=$SCRATCH/child.sync "$JIASHU" "${CHILD[@]}" sync >/dev/null || fail "child sync"
check "$SCRATCH/child.sync" "the child's sync" 1
grep -q "^A 0 POST /v1/messages/$id/receipts" "$SCRATCH/child.sync" || fail "the child sent no delivered receipt for $id"
echo ok
