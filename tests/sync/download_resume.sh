#!/bin/bash
# Verified resumable download against a plain node file server: cut
# connections resume with Range; a corrupted body is rejected and fetched
# again; the bytes kept are exactly the file's.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/peer_lib.sh"
need_tus_peer
trap 'stop_peer; cleanup_scratch' EXIT
export JIASHU_BACKOFF_MS=50,500

mkdir -p "$SCRATCH/p1/blobs" "$SCRATCH/p2/blobs"
head -c 300000 /dev/urandom >"$SCRATCH/p1/blobs/note"
cp "$SCRATCH/p1/blobs/note" "$SCRATCH/p2/blobs/note"

start_peer "$SCRATCH/p1" 0 --cut-bytes 40000
out=$("$SYNC_PROBE" download "http://127.0.0.1:$PEER_PORT" /blob/note "$SCRATCH/got") || fail "download through cuts failed"
cmp "$SCRATCH/p1/blobs/note" "$SCRATCH/got" || fail "downloaded bytes differ"
echo "$out" | grep -Eq 'interruptions=([5-9]|[1-9][0-9])' || fail "expected several resumed cuts: $out"
echo "$out" | grep -q "sha256=$(sha256sum <"$SCRATCH/got" | cut -c1-64)" || fail "the reported SHA-256 is not the file's"
echo "cuts: $out"
stop_peer

start_peer "$SCRATCH/p2" 0 --corrupt 2
out=$("$SYNC_PROBE" download "http://127.0.0.1:$PEER_PORT" /blob/note "$SCRATCH/got2") || fail "download with corrupted bodies failed"
cmp "$SCRATCH/p2/blobs/note" "$SCRATCH/got2" || fail "kept corrupted bytes"
echo "$out" | grep -q 'corrupt_fetches=2' || fail "both corrupted bodies should have been rejected: $out"
[ "$(wc -l <"$SCRATCH/p2/corrupted.log")" = 2 ] || fail "the peer did not corrupt twice"
echo "corruption: $out"
stop_peer

# Corrupted forever: the download gives up and keeps nothing.
start_peer "$SCRATCH/p2" 0 --corrupt 1000
expect_error_matching "always corrupted" "damaged|kept failing" "$SYNC_PROBE" download "http://127.0.0.1:$PEER_PORT" /blob/note "$SCRATCH/got3"
[ ! -e "$SCRATCH/got3" ] || fail "a corrupted download was written out"
echo ok
