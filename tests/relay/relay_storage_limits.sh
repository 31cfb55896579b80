#!/bin/bash
# Relay-wide limits: all families together hold at most --max-storage-bytes
# (507 with its own code, and one line for the operator, not one a
# request); a disk with less than --min-free-bytes left takes no new
# upload; the relay takes at most --max-families families. Expired uploads
# go in batches of --cleanup-batch rows, and the files shrink back after
# the burst (SQLite: WAL and database).
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

start_relay full --max-storage-bytes 5M --max-families 2 --join-burst 100 --join-rate 100 \
  --token-rate 1000 --token-burst 1000
new_family dad; DAD=$TOKEN
join "$CODE" ma; MA_ID=$DEVICE
create_upload "$DAD" 2097152 "$(metadata "$(uuid)" "$MA_ID")"
expect_status "first 2 MiB upload" 201
create_upload "$DAD" 2097152 "$(metadata "$(uuid)" "$MA_ID")"
expect_status "second 2 MiB upload" 201
for i in 1 2 3; do
  create_upload "$DAD" 2097152 "$(metadata "$(uuid)" "$MA_ID")"
  expect_error "a third 2 MiB upload past 5 MiB relay-wide ($i)" 507 relay_storage_full
done
create_upload "$DAD" 100000 "$(metadata "$(uuid)" "$MA_ID")"
expect_status "a small upload that still fits" 201
lines=$(grep -c 'storage full: .*max-storage-bytes' "$SCRATCH/full.log" || true)
[ "$lines" = 1 ] || fail "the operator got $lines 'storage full' lines for three refusals, expected 1"

# Families: the second fits, the third does not, whoever asks.
new_family mum
req POST /v1/families -H 'Content-Type: application/json' -d '{"name":"third"}'
expect_error "a third family past --max-families 2" 507 relay_families_full
grep -q 'families full: .*max-families' "$SCRATCH/full.log" || fail "no operator line for the family limit"
relay_alive full

# A disk that would be left with less than --min-free-bytes (here more
# than any disk has) takes no new upload; SQLite only (PostgreSQL's disk
# is not the relay's to see).
if [ "$JIASHU_TEST_DB" = sqlite ]; then
  start_relay disk --min-free-bytes 900G
  new_family dad; DAD=$TOKEN
  join "$CODE" ma; MA_ID=$DEVICE
  create_upload "$DAD" 1000 "$(metadata "$(uuid)" "$MA_ID")"
  expect_error "an upload on a disk below --min-free-bytes" 507 relay_storage_full
  grep -q 'storage full: .*min-free-bytes' "$SCRATCH/disk.log" || fail "no operator line for the free space"
fi

# Cleanup in batches, and the files shrink back after a burst: 24 uploads
# of 2 MiB that got 1 MiB each and expire after a second, removed by a
# cleanup that comes 10 s after the relay started (later rounds, if the
# machine was slow, each log their own line).
start_relay burst --upload-ttl 1 --cleanup-interval 10 --cleanup-batch 4 --token-rate 1000 \
  --token-burst 1000
new_family dad; DAD=$TOKEN
join "$CODE" ma; MA_ID=$DEVICE
head -c 1048576 /dev/urandom >"$SCRATCH/half"
files_kb() { du -sk "$SCRATCH"/burst.db* | awk '{ s += $1 } END { print s }'; }
for i in $(seq 24); do
  as "$DAD" POST /v1/uploads -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 2097152' \
    -H "Upload-Metadata: $(metadata "$(uuid)" "$MA_ID")" \
    -H 'Content-Type: application/offset+octet-stream' --data-binary "@$SCRATCH/half"
  expect_status "creation with 1 MiB ($i)" 201
done
cleaned() { sed -n "s/.*cleanup removed \([0-9]*\) expired uploads.* in \([0-9]*\) batches.*/\\$1/p" \
  "$SCRATCH/burst.log" | awk '{ s += $1 } END { print s + 0 }'; }
deadline=$((SECONDS + 90))
until [ "$(cleaned 1)" = 24 ]; do
  [ $SECONDS -lt $deadline ] || { cat "$SCRATCH/burst.log" >&2; fail "$(cleaned 1) of the 24 expired uploads were removed"; }
  sleep 0.2
done
batches=$(cleaned 2)
echo "24 expired uploads removed in $batches batches of at most 4"
[ "$batches" -ge 6 ] || fail "24 expired uploads went in $batches batches, expected at least 6 of 4 rows"
if [ "$JIASHU_TEST_DB" = sqlite ]; then
  peak=$((24 * 1024))
  after=$(files_kb)
  echo "relay files: at least ${peak} KB held by the burst, ${after} KB after the cleanup"
  [ "$after" -lt $((peak / 4)) ] || { ls -l "$SCRATCH"/burst.db*; fail "the relay's files stayed at ${after} KB after the burst was removed"; }
fi
as "$DAD" GET /v1/inbox
expect_status "inbox after the cleanup" 200
relay_alive burst
