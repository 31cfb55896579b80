#!/bin/bash
# Disk: a creation that only announces its length reserves nothing (60
# header-only creations of 2 MiB used to grow the relay's files by 129 MB),
# and bytes that do arrive over several PATCHes come back whole.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

start_relay disk --token-rate 1000 --token-burst 1000
new_family dad; DAD=$TOKEN
join "$CODE" ma; MA=$TOKEN MA_ID=$DEVICE
files_kb() { du -sk "$SCRATCH"/disk.db* | awk '{ s += $1 } END { print s }'; }
before=$(files_kb)
for i in $(seq 60); do
  create_upload "$DAD" 2097152 "$(metadata "$(uuid)" "$MA_ID")"
  expect_status "header-only creation $i" 201
done
after=$(files_kb)
echo "relay files: ${before} KB before, ${after} KB after 60 header-only creations of 2 MiB"
[ $((after - before)) -lt 10240 ] || fail "60 header-only creations grew the relay's files by $((after - before)) KB"

# Three PATCHes, then the message is whole and delivered.
head -c 300000 /dev/urandom >"$SCRATCH/audio"
MSG=$(uuid)
create_upload "$DAD" 300000 "$(metadata "$MSG" "$MA_ID")"
expect_status "creation" 201
for part in 0 1 2; do
  dd if="$SCRATCH/audio" of="$SCRATCH/part" bs=100000 skip=$part count=1 status=none
  patch "$DAD" "$UPLOAD" $((part * 100000)) "$SCRATCH/part"
  expect_status "PATCH $part" 204
done
as "$MA" GET "/v1/messages/$MSG"
expect_status "download" 200
cmp -s "$SCRATCH/body" "$SCRATCH/audio" || fail "the message assembled from three PATCHes differs"
[ "$(hdr etag)" = "\"$(sha256sum "$SCRATCH/audio" | cut -d' ' -f1)\"" ] || fail "ETag is not the SHA-256 of the bytes"
as "$MA" GET "/v1/messages/$MSG" -H 'Range: bytes=150000-150099'
expect_status "a range across PATCHes" 206
cmp -s "$SCRATCH/body" <(dd if="$SCRATCH/audio" bs=1 skip=150000 count=100 status=none) || fail "range bytes differ"
relay_alive disk
