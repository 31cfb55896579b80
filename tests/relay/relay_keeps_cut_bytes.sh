#!/bin/bash
# A PATCH cut in the middle keeps the bytes that arrived (the offset moves
# by them, and they survive the relay being SIGKILLed right after); the
# whole message's sha256 from the creation metadata is checked at
# completion: a stored byte changed on the relay's disk makes the
# completion fail with 460 and the upload go, and the message sent again
# arrives once and intact.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

start_relay main
new_family dad
DAD=$TOKEN
join "$CODE" grandma
MA=$TOKEN MA_ID=$DEVICE

# meta_sha MESSAGE_ID RECIPIENTS FILE: metadata declaring the file's sha256.
meta_sha() { echo "$(metadata "$1" "$2"),sha256 $(b64 "$(sha256sum "$3" | cut -d' ' -f1)")"; }

# cut_patch TOKEN UPLOAD OFFSET FILE SENT [HEADER]: announces the whole
# FILE in Content-Length, sends only SENT bytes of it, then closes.
cut_patch() {
  local token=$1 upload=$2 offset=$3 file=$4 sent=$5 extra=${6:-}
  exec 3<>"/dev/tcp/127.0.0.1/$PORT"
  {
    printf 'PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n' "$upload" "$token"
    printf 'Tus-Resumable: 1.0.0\r\nUpload-Offset: %s\r\n' "$offset"
    printf 'Content-Type: application/offset+octet-stream\r\nContent-Length: %s\r\n' "$(stat -c %s "$file")"
    [ -z "$extra" ] || printf '%s\r\n' "$extra"
    printf '\r\n'
    head -c "$sent" "$file"
  } >&3
  exec 3>&-
}

# wait_offset TOKEN UPLOAD WANT: HEAD until the offset is WANT (deadline 10 s).
wait_offset() {
  local deadline=$(( $(date +%s) + 10 ))
  while [ "$(date +%s)" -le "$deadline" ]; do
    as "$1" HEAD "$2" -H 'Tus-Resumable: 1.0.0'
    [ "$(hdr upload-offset)" = "$3" ] && return 0
    sleep 0.05
  done
  fail "the offset is $(hdr upload-offset), expected $3"
}

head -c 60000 /dev/urandom >"$SCRATCH/audio"

# 1. A cut PATCH keeps what arrived.
MSG=$(uuid)
create_upload "$DAD" 60000 "$(meta_sha "$MSG" "$MA_ID" "$SCRATCH/audio")"
expect_status "creation" 201
cut_patch "$DAD" "$UPLOAD" 0 "$SCRATCH/audio" 25000
wait_offset "$DAD" "$UPLOAD" 25000
grep -q 'PATCH /v1/uploads/{id} 0 .*bytes kept' "$SCRATCH/main.log" || fail "the log does not say the bytes were kept"

# They were durable before the HEAD was answered: a SIGKILL loses nothing.
kill -KILL "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
RELAY_PIDS=""
start_relay main
as "$DAD" HEAD "$UPLOAD" -H 'Tus-Resumable: 1.0.0'
[ "$(hdr upload-offset)" = 25000 ] || fail "after SIGKILL the offset is $(hdr upload-offset), not 25000"

# A PATCH under an Upload-Checksum cannot be checked when cut: dropped.
tail -c +25001 "$SCRATCH/audio" >"$SCRATCH/rest"
cut_patch "$DAD" "$UPLOAD" 25000 "$SCRATCH/rest" 10000 "Upload-Checksum: sha1 $(sha1_b64 "$SCRATCH/rest")"
sleep 0.3
as "$DAD" HEAD "$UPLOAD" -H 'Tus-Resumable: 1.0.0'
[ "$(hdr upload-offset)" = 25000 ] || fail "a cut PATCH with a checksum kept bytes: $(hdr upload-offset)"

patch "$DAD" "$UPLOAD" 25000 "$SCRATCH/rest"
expect_status "the rest" 204
[ "$(hdr upload-offset)" = 60000 ] || fail "offset after the rest: $(hdr upload-offset)"
as "$MA" GET "/v1/messages/$MSG"
expect_status "download" 200
cmp -s "$SCRATCH/body" "$SCRATCH/audio" || fail "the message resumed after a cut differs"

# 2. A cut creation-with-upload makes the upload with what arrived; the
#    repeated creation finds it and says where it stands.
MSG2=$(uuid)
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
{
  printf 'POST /v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n' "$DAD"
  printf 'Tus-Resumable: 1.0.0\r\nUpload-Length: 60000\r\nUpload-Metadata: %s\r\n' "$(meta_sha "$MSG2" "$MA_ID" "$SCRATCH/audio")"
  printf 'Content-Type: application/offset+octet-stream\r\nContent-Length: 60000\r\n\r\n'
  head -c 40000 "$SCRATCH/audio"
} >&3
exec 3>&-
deadline=$(( $(date +%s) + 10 ))
while [ "$(date +%s)" -le "$deadline" ]; do
  create_upload "$DAD" 60000 "$(meta_sha "$MSG2" "$MA_ID" "$SCRATCH/audio")"
  [ "$(hdr upload-offset)" = 40000 ] && break
  sleep 0.05
done
[ "$(hdr upload-offset)" = 40000 ] || fail "a cut creation-with-upload kept $(hdr upload-offset) bytes, not 40000"
tail -c +40001 "$SCRATCH/audio" >"$SCRATCH/rest2"
patch "$DAD" "$UPLOAD" 40000 "$SCRATCH/rest2"
expect_status "the rest of a cut creation" 204

# 3. One byte of a stored partial upload changed on disk: the completion is
#    refused, the upload is gone, and sending it again delivers it intact.
MSG3=$(uuid)
META3=$(meta_sha "$MSG3" "$MA_ID" "$SCRATCH/audio")
create_upload "$DAD" 60000 "$META3"
head -c 30000 "$SCRATCH/audio" >"$SCRATCH/part1"
tail -c 30000 "$SCRATCH/audio" >"$SCRATCH/part2"
patch "$DAD" "$UPLOAD" 0 "$SCRATCH/part1"
expect_status "first half" 204
flip_stored_byte main "$MSG3" 999 || fail "could not corrupt the stored upload"
patch "$DAD" "$UPLOAD" 30000 "$SCRATCH/part2"
expect_error "completion of a corrupted upload" 460 message_checksum_mismatch
as "$DAD" HEAD "$UPLOAD" -H 'Tus-Resumable: 1.0.0'
expect_status "HEAD of the refused upload" 404
as "$MA" GET "/v1/messages/$MSG3"
expect_error "the refused message" 404 not_found
create_upload "$DAD" 60000 "$META3"
expect_status "creation again" 201
patch "$DAD" "$UPLOAD" 0 "$SCRATCH/audio"
expect_status "sent again" 204
as "$MA" GET "/v1/messages/$MSG3"
expect_status "download after the resend" 200
cmp -s "$SCRATCH/body" "$SCRATCH/audio" || fail "the message sent again is not intact"
as "$MA" GET /v1/inbox
[ "$(json "[.messages[] | select(.message_id == \"$MSG3\")] | length")" = 1 ] || fail "the resent message is not once in the inbox"

# 4. A whole message that is not the one declared creates nothing.
MSG4=$(uuid)
head -c 2000 /dev/urandom >"$SCRATCH/small"
as "$DAD" POST /v1/uploads -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 2000' \
  -H "Upload-Metadata: $(meta_sha "$MSG4" "$MA_ID" "$SCRATCH/audio")" \
  -H 'Content-Type: application/offset+octet-stream' --data-binary "@$SCRATCH/small"
expect_error "creation-with-upload of another message than declared" 460 message_checksum_mismatch
as "$DAD" POST /v1/uploads -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 2000' \
  -H "Upload-Metadata: $(metadata "$MSG4" "$MA_ID"),sha256 $(b64 nothex)"
expect_error "a sha256 that is not 64 hex digits" 400 malformed
as "$MA" GET /v1/inbox
[ "$(json '.messages | length')" = 3 ] || fail "the inbox holds $(json '.messages | length') messages, not 3"
relay_alive main
