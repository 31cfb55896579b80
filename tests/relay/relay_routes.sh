#!/bin/bash
# Every route of protocol v1 driven with curl: statuses, headers, bodies,
# and each error status of the protocol.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

start_relay main

# --- families, invites, join, members -----------------------------------
req POST /v1/families -d '{"name":"dad"}' -H 'Content-Type: text/plain'
expect_error "family with a text body" 415 unsupported_media_type
req POST /v1/families -H 'Content-Type: application/json' -d '{"name":'
expect_error "family with broken JSON" 400 malformed
req POST /v1/families -H 'Content-Type: application/json' -d "{\"name\":\"$(head -c 65 /dev/zero | tr '\0' a)\"}"
expect_error "family with a 65-byte name" 400 malformed
req POST /v1/families -H 'Content-Type: application/json' -d "{\"name\":\"$(head -c 5000 /dev/zero | tr '\0' a)\"}"
expect_error "family with a 5000-byte body" 413 too_large
req GET /v1/families
expect_error "GET on families" 405 method_not_allowed
[ "$(hdr allow)" = POST ] || fail "405 without Allow: POST"

new_family dad
DAD=$TOKEN DAD_ID=$DEVICE FAM=$FAMILY
[[ $DAD =~ ^[0-9a-f]{64}$ ]] || fail "token is not 64 hex digits: $DAD"
[[ $CODE =~ ^[0-9]{10}$ ]] || fail "invite is not 10 digits: $CODE"
join "$CODE" grandma
MA=$TOKEN MA_ID=$DEVICE
[ "$(json .family_id)" = "$FAM" ] || fail "join put the device in another family"
req POST /v1/join -H 'Content-Type: application/json' -d "{\"code\":\"$CODE\",\"name\":\"again\"}"
expect_error "an invite used twice" 404 not_found
req POST /v1/join -H 'Content-Type: application/json' -d '{"code":"12ab","name":"x"}'
expect_error "an invite with letters" 400 malformed

as "$DAD" POST /v1/invites
expect_status "new invite" 201
CODE2=$(json .code)
[[ $CODE2 =~ ^[0-9]{10}$ ]] || fail "invite is not 10 digits: $CODE2"
[ "$(json .expires_at)" -gt "$(date +%s)" ] || fail "invite expires in the past"
join "$CODE2" child
KID=$TOKEN KID_ID=$DEVICE

as "$MA" GET /v1/family
expect_status "members" 200
[ "$(json '.members | length')" = 3 ] || fail "family should have 3 members: $(cat "$SCRATCH/body")"
[ "$(json '[.members[].name] | sort | join(",")')" = "child,dad,grandma" ] || fail "member names"
[ "$(json .device_id)" = "$MA_ID" ] || fail "members answer does not say who asks"

req GET /v1/family
expect_error "members without a token" 401 unauthorized
req GET /v1/family -H 'Authorization: Bearer nonsense'
expect_error "members with a garbled token" 401 unauthorized
req GET /v1/family -H "Authorization: Bearer $(random_hex 32)"
expect_error "members with an unknown token" 401 unauthorized
req GET /v1/nowhere
expect_error "unknown route" 404 not_found

# --- tus ----------------------------------------------------------------
req OPTIONS /v1/uploads
expect_status "tus OPTIONS" 204
[ "$(hdr tus-version)" = 1.0.0 ] || fail "OPTIONS without Tus-Version"
for ext in creation checksum termination expiration; do
  hdr tus-extension | tr ',' '\n' | grep -qx "$ext" || fail "Tus-Extension lacks $ext"
done
hdr tus-checksum-algorithm | tr ',' '\n' | grep -qx sha1 || fail "sha1 not offered"
# The default: the largest note a client records (util/util.h JU_MAX_UPLOAD_BYTES).
[ "$(hdr tus-max-size)" = 6327680 ] || fail "Tus-Max-Size is not the limit"

head -c 60000 /dev/urandom >"$SCRATCH/audio"
head -c 30000 "$SCRATCH/audio" >"$SCRATCH/part1"
tail -c 30000 "$SCRATCH/audio" >"$SCRATCH/part2"
MSG=$(uuid)
META=$(metadata "$MSG" "$MA_ID,$KID_ID" 5200)

as "$DAD" POST /v1/uploads -H 'Upload-Length: 60000' -H "Upload-Metadata: $META"
expect_error "creation without Tus-Resumable" 412 precondition_failed
[ "$(hdr tus-version)" = 1.0.0 ] || fail "412 without Tus-Version"
as "$DAD" POST /v1/uploads -H 'Tus-Resumable: 1.0.0' -H "Upload-Metadata: $META"
expect_error "creation without Upload-Length" 400 malformed
create_upload "$DAD" 6327681 "$META"
expect_error "creation longer than the limit" 413 too_large
create_upload "$DAD" -5 "$META"
expect_error "creation with a negative length" 400 malformed
create_upload "$DAD" 60000 "message_id $(b64 not-a-uuid),recipients $(b64 "$MA_ID"),duration_ms $(b64 10)"
expect_error "metadata with a bad message id" 400 malformed
create_upload "$DAD" 60000 "message_id !!!,recipients"
expect_error "metadata that is not base64" 400 malformed
create_upload "$DAD" 60000 "$(metadata "$MSG" "$MA_ID" 10),$(head -c 1100 /dev/zero | tr '\0' k) $(b64 x)"
expect_error "oversized metadata" 413 too_large
req POST /v1/uploads -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 10' -H "Upload-Metadata: $META"
expect_error "creation without a token" 401 unauthorized

create_upload "$DAD" 60000 "$META"
expect_status "creation" 201
FIRST=$UPLOAD
[[ $UPLOAD =~ ^/v1/uploads/[0-9a-f]{32}$ ]] || fail "Location is $UPLOAD"
[ "$(hdr tus-resumable)" = 1.0.0 ] || fail "201 without Tus-Resumable"
[ -n "$(hdr upload-expires)" ] || fail "201 without Upload-Expires"
create_upload "$DAD" 60000 "$META"
expect_status "repeated creation" 201
[ "$UPLOAD" = "$FIRST" ] || fail "a repeated creation made a second upload"
create_upload "$MA" 60000 "$(metadata "$MSG" "$DAD_ID")"
expect_error "another device reusing a message id" 409 conflict
UPLOAD=$FIRST

as "$DAD" HEAD "$UPLOAD" -H 'Tus-Resumable: 1.0.0'
expect_status "HEAD" 200
[ "$(hdr upload-offset)" = 0 ] && [ "$(hdr upload-length)" = 60000 ] || fail "HEAD offset/length"
[ "$(hdr upload-metadata)" = "$META" ] || fail "HEAD does not echo the metadata"
[ "$(hdr cache-control)" = no-store ] || fail "HEAD without Cache-Control: no-store"

as "$DAD" PATCH "$UPLOAD" -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' -H 'Content-Type: text/plain' \
  --data-binary "@$SCRATCH/part1"
expect_error "PATCH with a wrong Content-Type" 415 unsupported_media_type
patch "$DAD" "$UPLOAD" 5 "$SCRATCH/part1"
expect_error "PATCH at a wrong offset" 409 offset_conflict
patch "$DAD" "$UPLOAD" -1 "$SCRATCH/part1"
expect_error "PATCH at a negative offset" 400 malformed
patch "$DAD" "$UPLOAD" 99999999999999999999999 "$SCRATCH/part1"
expect_error "PATCH at a huge offset" 400 malformed
patch "$DAD" "$UPLOAD" 0 "$SCRATCH/part1" -H "Upload-Checksum: sha1 $(sha1_b64 "$SCRATCH/part2")"
expect_error "PATCH with a wrong checksum" 460 checksum_mismatch
patch "$DAD" "$UPLOAD" 0 "$SCRATCH/part1" -H "Upload-Checksum: md5 AAAA"
expect_error "PATCH with an unsupported checksum" 400 malformed
patch "$DAD" "$UPLOAD" 0 "$SCRATCH/audio" -H 'Upload-Checksum: sha1 Zm9v'
expect_error "PATCH with a checksum of the wrong size" 400 malformed
head -c 70000 /dev/urandom >"$SCRATCH/toolong"
patch "$DAD" "$UPLOAD" 0 "$SCRATCH/toolong"
expect_error "PATCH past Upload-Length" 413 too_large

patch "$DAD" "$UPLOAD" 0 "$SCRATCH/part1" -H "Upload-Checksum: sha1 $(sha1_b64 "$SCRATCH/part1")"
expect_status "first half" 204
[ "$(hdr upload-offset)" = 30000 ] || fail "offset after first half: $(hdr upload-offset)"
as "$DAD" HEAD "$UPLOAD" -H 'Tus-Resumable: 1.0.0'
[ "$(hdr upload-offset)" = 30000 ] || fail "HEAD after first half"

# Nothing is in the inbox before the last byte.
as "$MA" GET /v1/inbox
expect_status "inbox before completion" 200
[ "$(json '.messages | length')" = 0 ] || fail "a partial upload is in the inbox"

# A long poll that the completion wakes.
(curl -s -m 20 -H "Authorization: Bearer $MA" -w '\n%{time_total}' "$BASE/v1/inbox?wait=15" >"$SCRATCH/poll") &
POLL=$!
sleep 0.5
patch "$DAD" "$UPLOAD" 30000 "$SCRATCH/part2" -H "Upload-Checksum: sha256 $(sha256_b64 "$SCRATCH/part2")"
expect_status "second half" 204
[ "$(hdr upload-offset)" = 60000 ] || fail "offset after the last byte"
wait $POLL
[ "$(head -1 "$SCRATCH/poll" | jq -r '.messages[0].message_id')" = "$MSG" ] || fail "the long poll did not get the message: $(cat "$SCRATCH/poll")"
awk 'NR==2 { exit !($1 < 5) }' "$SCRATCH/poll" || fail "the long poll waited for its deadline instead of waking"

# Repeating the last PATCH or the creation delivers nothing twice.
patch "$DAD" "$UPLOAD" 30000 "$SCRATCH/part2"
expect_error "last PATCH repeated" 409 offset_conflict
create_upload "$DAD" 60000 "$META"
expect_status "creation repeated after completion" 201
[ "$UPLOAD" = "$FIRST" ] && [ "$(hdr upload-offset)" = 60000 ] || fail "repeated creation after completion"
as "$DAD" DELETE "$UPLOAD" -H 'Tus-Resumable: 1.0.0'
expect_error "terminating a delivered message" 409 conflict

as "$MA" GET /v1/inbox
[ "$(json '.messages | length')" = 1 ] || fail "the message is not exactly once in the inbox: $(cat "$SCRATCH/body")"
CUR=$(json .cursor)
[ "$(json .messages[0].from)" = "$DAD_ID" ] && [ "$(json .messages[0].length)" = 60000 ] &&
  [ "$(json .messages[0].duration_ms)" = 5200 ] || fail "inbox entry fields: $(cat "$SCRATCH/body")"
SHA=$(sha256sum "$SCRATCH/audio" | cut -d' ' -f1)
[ "$(json .messages[0].sha256)" = "$SHA" ] || fail "inbox sha256"
as "$KID" GET /v1/inbox
[ "$(json '.messages | length')" = 1 ] || fail "the second recipient did not get the message"
as "$DAD" GET /v1/inbox
[ "$(json '.messages | length')" = 0 ] || fail "the sender got its own message"
as "$MA" GET "/v1/inbox?after=$CUR&wait=1"
expect_status "long poll that times out" 200
[ "$(json '.messages | length')" = 0 ] && [ "$(json .cursor)" = "$CUR" ] || fail "empty long poll answer"
as "$MA" GET "/v1/inbox?after=-1"
expect_error "inbox with a negative cursor" 400 malformed
as "$MA" GET "/v1/inbox?wait=soon"
expect_error "inbox with a garbled wait" 400 malformed

# Termination of a partial upload.
create_upload "$DAD" 100 "$(metadata "$(uuid)" "$MA_ID")"
expect_status "second upload" 201
as "$DAD" DELETE "$UPLOAD" -H 'Tus-Resumable: 1.0.0'
expect_status "termination" 204
as "$DAD" HEAD "$UPLOAD" -H 'Tus-Resumable: 1.0.0'
expect_status "HEAD after termination" 404

# creation-with-upload: the whole message in one request.
head -c 2000 /dev/urandom >"$SCRATCH/small"
SMALL=$(uuid)
as "$DAD" POST /v1/uploads -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 2000' \
  -H "Upload-Metadata: $(metadata "$SMALL" "$MA_ID")" -H 'Content-Type: application/offset+octet-stream' \
  --data-binary "@$SCRATCH/small"
expect_status "creation with upload" 201
[ "$(hdr upload-offset)" = 2000 ] || fail "creation with upload did not take the body"
SMALL_UPLOAD=$(hdr location)
as "$DAD" POST /v1/uploads -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 2000' \
  -H "Upload-Metadata: $(metadata "$SMALL" "$MA_ID")" -H 'Content-Type: application/offset+octet-stream' \
  --data-binary "@$SCRATCH/small"
expect_status "creation with upload, repeated" 201
[ "$(hdr location)" = "$SMALL_UPLOAD" ] && [ "$(hdr upload-offset)" = 2000 ] || fail "a repeated creation with upload"
as "$DAD" POST /v1/uploads -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 2000' \
  -H "Upload-Metadata: $(metadata "$(uuid)" "$MA_ID")" -H 'Content-Type: application/offset+octet-stream' \
  -H "Upload-Checksum: sha1 $(sha1_b64 "$SCRATCH/part1")" --data-binary "@$SCRATCH/small"
expect_error "creation with upload and a wrong checksum" 460 checksum_mismatch
as "$MA" GET /v1/inbox
[ "$(json "[.messages[] | select(.message_id == \"$SMALL\")] | length")" = 1 ] ||
  fail "a message made by creation with upload is not exactly once in the inbox"
[ "$(json '.messages | length')" = 2 ] || fail "the failed creation delivered something"

# --- download -----------------------------------------------------------
as "$MA" GET "/v1/messages/$MSG"
expect_status "download" 200
cmp -s "$SCRATCH/body" "$SCRATCH/audio" || fail "downloaded bytes differ"
[ "$(hdr etag)" = "\"$SHA\"" ] || fail "ETag is not the SHA-256: $(hdr etag)"
[ "$(hdr accept-ranges)" = bytes ] || fail "no Accept-Ranges"
as "$MA" GET "/v1/messages/$MSG" -H 'Range: bytes=30000-'
expect_status "ranged download" 206
cmp -s "$SCRATCH/body" "$SCRATCH/part2" || fail "ranged bytes differ"
[ "$(hdr content-range)" = "bytes 30000-59999/60000" ] || fail "Content-Range: $(hdr content-range)"
as "$MA" GET "/v1/messages/$MSG" -H 'Range: bytes=-10'
expect_status "suffix range" 206
cmp -s "$SCRATCH/body" <(tail -c 10 "$SCRATCH/audio") || fail "suffix range bytes differ"
as "$MA" GET "/v1/messages/$MSG" -H 'Range: bytes=60000-'
expect_error "range past the end" 416 range_not_satisfiable
[ "$(hdr content-range)" = "bytes */60000" ] || fail "416 without Content-Range"
as "$MA" GET "/v1/messages/$MSG" -H "If-None-Match: \"$SHA\""
expect_status "conditional download" 304
as "$DAD" GET "/v1/messages/$MSG"
expect_status "the sender downloads its own message" 200
as "$MA" GET "/v1/messages/$(uuid)"
expect_error "download of an unknown message" 404 not_found
as "$MA" DELETE "/v1/messages/$MSG"
expect_error "DELETE on a message" 405 method_not_allowed

# --- receipts -----------------------------------------------------------
as "$DAD" GET /v1/receipts
expect_status "receipts, none yet" 200
[ "$(json '.receipts | length')" = 0 ] || fail "receipts before any"
(curl -s -m 20 -H "Authorization: Bearer $DAD" "$BASE/v1/receipts?wait=15" >"$SCRATCH/rpoll") &
RPOLL=$!
sleep 0.5
as "$MA" POST "/v1/messages/$MSG/receipts" -H 'Content-Type: application/json' -d '{"state":"played"}'
expect_status "played receipt" 204
wait $RPOLL
[ "$(jq -r '[.receipts[].state] | join(",")' <"$SCRATCH/rpoll")" = "delivered,played" ] ||
  fail "the receipts long poll: $(cat "$SCRATCH/rpoll")"
as "$MA" POST "/v1/messages/$MSG/receipts" -H 'Content-Type: application/json' -d '{"state":"played"}'
expect_status "a repeated receipt" 204
as "$KID" POST "/v1/messages/$MSG/receipts" -H 'Content-Type: application/json' -d '{"state":"delivered"}'
expect_status "delivered receipt" 204
as "$DAD" GET /v1/receipts
[ "$(json '.receipts | length')" = 3 ] || fail "receipts: $(cat "$SCRATCH/body")"
[ "$(json '[.receipts[] | select(.device_id == "'"$KID_ID"'")] | .[0].state')" = delivered ] || fail "the child's receipt"
as "$DAD" GET "/v1/receipts?after=$(json .cursor)"
[ "$(json '.receipts | length')" = 0 ] || fail "receipts after the cursor"
# The inbox carries the same receipts when asked with receipts_after, so
# a sync learns everything in one request; none of another device's.
as "$DAD" GET "/v1/inbox?receipts_after=0"
expect_status "inbox with receipts" 200
[ "$(json '[.receipts[] | "\(.device_id) \(.state)"] | sort | join(",")')" = "$(printf '%s\n' "$KID_ID delivered" "$MA_ID delivered" "$MA_ID played" | sort | paste -sd,)" ] ||
  fail "the inbox's receipts: $(cat "$SCRATCH/body")"
[ "$(json .receipts_pending)" = true ] || fail "receipts_pending with receipts: $(cat "$SCRATCH/body")"
RC=$(json .receipts_cursor)
as "$DAD" GET "/v1/inbox?receipts_after=$RC"
[ "$(json '.receipts | length') $(json .receipts_cursor) $(json .receipts_pending)" = "0 $RC false" ] ||
  fail "the inbox's receipts after their cursor: $(cat "$SCRATCH/body")"
as "$MA" GET "/v1/inbox?receipts_after=0"
[ "$(json '.receipts | length')" = 0 ] || fail "a recipient sees receipts on a message she did not send: $(cat "$SCRATCH/body")"
as "$DAD" GET "/v1/inbox"
[ "$(json 'has("receipts")')" = false ] || fail "receipts in an inbox that did not ask for them"
as "$DAD" POST "/v1/messages/$MSG/receipts" -H 'Content-Type: application/json' -d '{"state":"played"}'
expect_error "a receipt by the sender" 403 forbidden
as "$MA" POST "/v1/messages/$MSG/receipts" -H 'Content-Type: application/json' -d '{"state":"eaten"}'
expect_error "a receipt with an unknown state" 400 malformed
as "$MA" POST "/v1/messages/$MSG/receipts" -H 'Content-Type: text/plain' -d '{"state":"played"}'
expect_error "a receipt that is not JSON" 415 unsupported_media_type
as "$MA" POST "/v1/messages/$(uuid)/receipts" -H 'Content-Type: application/json' -d '{"state":"played"}'
expect_error "a receipt for an unknown message" 404 not_found
# "rejected": the device will never play it (its bytes were not a voice
# note); it reaches the sender like any receipt, once.
as "$DAD" GET /v1/receipts
RCURSOR=$(json .cursor)
for i in 1 2; do
  as "$MA" POST "/v1/messages/$SMALL/receipts" -H 'Content-Type: application/json' -d '{"state":"rejected"}'
  expect_status "rejected receipt ($i)" 204
done
as "$DAD" GET "/v1/receipts?after=$RCURSOR"
[ "$(json '[.receipts[] | "\(.message_id) \(.device_id) \(.state)"] | join(",")')" = "$SMALL $MA_ID rejected" ] ||
  fail "the rejected receipt: $(cat "$SCRATCH/body")"

# --- revocation ---------------------------------------------------------
as "$DAD" DELETE "/v1/devices/$KID_ID"
expect_status "revoke a device" 204
as "$KID" GET /v1/family
expect_error "a revoked token" 401 unauthorized
as "$DAD" DELETE "/v1/devices/$KID_ID"
expect_error "revoking twice" 404 not_found

# --- limits: 410, 429, 507 ----------------------------------------------
start_relay tight --invite-ttl 0 --upload-ttl 0 --token-rate 0.5 --token-burst 6 \
  --max-family-bytes 5000 --max-mailbox 1 --join-rate 0.01 --join-burst 3
new_family mum
MUM=$TOKEN
# A time-to-live of 0 s runs out once the relay's clock (whole seconds)
# passes the second the invite was made in (50 ms more: time() may read a
# clock a tick behind).
made=${EPOCHREALTIME%[.,]*}
next_second() { [ "${EPOCHREALTIME//[.,]/}" -gt $(((made + 1) * 1000000 + 50000)) ]; }
wait_until 5 "the clock did not pass the second the invite was made in" next_second
req POST /v1/join -H 'Content-Type: application/json' -d "{\"code\":\"$CODE\",\"name\":\"late\"}"
expect_error "an expired invite" 410 expired
create_upload "$MUM" 6000 "$(metadata "$(uuid)" "$DEVICE")"
expect_error "more than the family may store" 507 storage_full
create_upload "$MUM" 100 "$(metadata "$(uuid)" "$DEVICE")"
expect_status "small upload" 201
made=${EPOCHREALTIME%[.,]*}
wait_until 5 "the clock did not pass the second the upload was made in" next_second
as "$MUM" HEAD "$UPLOAD" -H 'Tus-Resumable: 1.0.0'
expect_status "HEAD of an expired upload" 410
patch "$MUM" "$UPLOAD" 0 "$SCRATCH/small"
expect_error "PATCH of an expired upload" 410 expired
for i in $(seq 10); do
  as "$MUM" GET /v1/family
  [ "$STATUS" = 429 ] && break
done
expect_error "a flood from one token" 429 rate_limited
[ "$(hdr retry-after)" -ge 1 ] || fail "429 without Retry-After"
for i in 1 2; do  # the expired invite above was the first attempt
  req POST /v1/join -H 'Content-Type: application/json' -d '{"code":"0000000000","name":"guess"}'
  expect_error "guess $i" 404 not_found
done
req POST /v1/join -H 'Content-Type: application/json' -d '{"code":"0000000001","name":"guess"}'
expect_error "one guess too many" 429 rate_limited
[ "$(hdr retry-after)" -ge 60 ] || fail "join 429 Retry-After: $(hdr retry-after)"

# Full mailbox: a second undelivered message for the same device.
start_relay mailbox --max-mailbox 1
new_family a
A=$TOKEN
join "$CODE" b
B_ID=$DEVICE
B=$TOKEN
send "$A" "$B_ID" "$SCRATCH/small"
create_upload "$A" 2000 "$(metadata "$(uuid)" "$B_ID")"
expect_error "a full mailbox" 507 storage_full

# --- the roster: replaced only where the writer saw what is held ---------
OCTETS=(-H 'Content-Type: application/octet-stream')
as "$A" GET /v1/roster
expect_error "a roster before any" 404 not_found
as "$A" GET "/v1/inbox?receipts_after=0"
[ "$(json 'has("roster")')" = false ] || fail "a roster ETag in the inbox before any roster: $(cat "$SCRATCH/body")"
as "$A" PUT /v1/roster "${OCTETS[@]}" --data-binary first
expect_error "a roster without a precondition" 428 precondition_required
as "$A" PUT /v1/roster "${OCTETS[@]}" -H 'If-None-Match: *' --data-binary first
expect_status "the first roster" 204
as "$A" PUT /v1/roster "${OCTETS[@]}" -H 'If-None-Match: *' --data-binary other
expect_error "a second first roster" 412 precondition_failed
as "$A" GET /v1/roster
expect_status "the roster" 200
[ "$(cat "$SCRATCH/body")" = first ] || fail "the roster is not what was put: $(cat "$SCRATCH/body")"
ETAG=$(hdr etag)
as "$A" PUT /v1/roster "${OCTETS[@]}" -H "If-Match: \"$(random_hex 32)\"" --data-binary second
expect_error "a roster replacing another than the one held" 412 precondition_failed
as "$A" PUT /v1/roster "${OCTETS[@]}" -H "If-Match: $ETAG" --data-binary second
expect_status "a roster replacing the one held" 204
as "$A" PUT /v1/roster "${OCTETS[@]}" -H "If-Match: $ETAG" --data-binary third
expect_error "a roster replacing one that changed meanwhile" 412 precondition_failed
as "$A" GET /v1/roster
[ "$(cat "$SCRATCH/body")" = second ] || fail "the roster is not the one that won: $(cat "$SCRATCH/body")"
ETAG=$(hdr etag)
# The inbox names the roster the relay holds, so a sync asks for it only
# when it changed.
as "$A" GET "/v1/inbox?receipts_after=0"
[ "\"$(json .roster)\"" = "$ETAG" ] || fail "the inbox names roster $(json .roster), the relay holds $ETAG"
as "$B" GET "/v1/inbox?receipts_after=0"
[ "\"$(json .roster)\"" = "$ETAG" ] || fail "another member's inbox names roster $(json .roster), not $ETAG"

# --- the log ------------------------------------------------------------
grep -q '^jiashu-relay: PATCH /v1/uploads/{id} 204 30000 0 [0-9.]*ms$' "$SCRATCH/main.log" ||
  fail "no log line for the PATCH: $(grep PATCH "$SCRATCH/main.log" | head -3)"
! grep -q "$DAD" "$SCRATCH/main.log" || fail "a token is in the log"
echo "relay routes: ok"
