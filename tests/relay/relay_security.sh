#!/bin/bash
# Families are kept apart on every route; hostile requests get a clear 4xx
# and the relay keeps serving everyone else.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

start_relay sec

new_family a-dad; A=$TOKEN A_ID=$DEVICE
join "$CODE" a-ma; A2=$TOKEN A2_ID=$DEVICE
new_family b-mum; B=$TOKEN B_ID=$DEVICE
join "$CODE" b-kid; B2=$TOKEN B2_ID=$DEVICE

head -c 5000 /dev/urandom >"$SCRATCH/a-audio"
send "$A" "$A2_ID" "$SCRATCH/a-audio"; A_MSG=$MSG
create_upload "$A" 5000 "$(metadata "$(uuid)" "$A2_ID")"; A_UPLOAD=$UPLOAD
expect_status "family A's partial upload" 201

# --- family B against family A, on every route --------------------------
as "$B" GET /v1/family
[ "$(json '[.members[].device_id] | sort | join(",")')" = "$(printf '%s\n' "$B_ID" "$B2_ID" | sort | paste -sd,)" ] || fail "B's member list shows another family"
as "$B" GET /v1/inbox
[ "$(json '.messages | length')" = 0 ] || fail "B's inbox shows A's message"
as "$B" GET /v1/receipts
[ "$(json '.receipts | length')" = 0 ] || fail "B sees receipts"
as "$B" GET "/v1/messages/$A_MSG"
expect_error "B downloads A's message" 403 forbidden
as "$B" GET "/v1/messages/$A_MSG" -H 'Range: bytes=0-10'
expect_error "B downloads part of A's message" 403 forbidden
as "$B" POST "/v1/messages/$A_MSG/receipts" -H 'Content-Type: application/json' -d '{"state":"played"}'
expect_error "B sends a receipt for A's message" 403 forbidden
as "$B" HEAD "$A_UPLOAD" -H 'Tus-Resumable: 1.0.0'
expect_status "B asks for A's upload offset" 403
patch "$B" "$A_UPLOAD" 0 "$SCRATCH/a-audio"
expect_error "B writes into A's upload" 403 forbidden
as "$B" DELETE "$A_UPLOAD" -H 'Tus-Resumable: 1.0.0'
expect_error "B terminates A's upload" 403 forbidden
create_upload "$B" 5000 "$(metadata "$(uuid)" "$A2_ID")"
expect_error "B uploads to a device of A" 403 forbidden
create_upload "$B" 5000 "$(metadata "$(uuid)" "$B2_ID,$A_ID")"
expect_error "B uploads to its own and A's device" 403 forbidden
create_upload "$B" 5000 "$(metadata "$A_MSG" "$B2_ID")"
expect_error "B takes over A's message id" 409 conflict
as "$B" DELETE "/v1/devices/$A_ID"
expect_error "B revokes A's device" 404 not_found
# Within a family, a device that is not a recipient cannot read either.
join "$(as "$A" POST /v1/invites >/dev/null; json .code)" a-kid; A3=$TOKEN
as "$A3" GET "/v1/messages/$A_MSG"
expect_error "a family member who is not a recipient" 403 forbidden
as "$A2" GET "/v1/messages/$A_MSG"
expect_status "the recipient still downloads" 200
cmp -s "$SCRATCH/body" "$SCRATCH/a-audio" || fail "recipient's bytes differ"

# --- tokens ----------------------------------------------------------------
for bad in "" "Bearer" "Bearer " "Basic Zm9vOmJhcg==" "Bearer ${A:0:63}" "Bearer ${A}0" \
  "Bearer ${A:0:63}g" "Bearer $(random_hex 32)"; do
  req GET /v1/inbox -H "Authorization: $bad"
  expect_error "token '$bad'" 401 unauthorized
done
as "$A3" GET /v1/family
A3_ID=$(json .device_id)
as "$A" DELETE "/v1/devices/$A3_ID"
expect_status "revoke" 204
for route in "GET /v1/family" "GET /v1/inbox" "GET /v1/messages/$A_MSG" "POST /v1/invites"; do
  as "$A3" $route
  expect_error "revoked token on $route" 401 unauthorized
done

# --- hostile requests ----------------------------------------------------
for path in "/v1/messages/../../../etc/passwd" "/v1/messages/%2e%2e%2f%2e%2e%2fetc%2fpasswd" \
  "/v1/uploads/..%2f..%2fsec.db" "/v1/messages/$A_MSG%00x" "/../sec.db" "/v1/uploads/$(head -c 300 /dev/zero | tr '\0' a)"; do
  STATUS=$(curl -s -o "$SCRATCH/body" -w '%{http_code}' --path-as-is -H "Authorization: Bearer $A2" \
    -H 'Tus-Resumable: 1.0.0' "$BASE$path") || STATUS=000
  [[ $STATUS =~ ^4[0-9][0-9]$ ]] || fail "path $path: status $STATUS"
  grep -q SQLite "$SCRATCH/body" && fail "path $path leaked the database"
done
# Headers larger than the relay accepts.
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 40000 /dev/zero | tr '\0' x)" \
  -H "Authorization: Bearer $A" "$BASE/v1/family") || STATUS=000
[ "$STATUS" = 431 ] || fail "oversized headers: status $STATUS, expected 431"
# Bodies larger than allowed, with and without Content-Length.
head -c 100000 /dev/zero | tr '\0' ' ' >"$SCRATCH/big.json"
req POST /v1/join -H 'Content-Type: application/json' --data-binary "@$SCRATCH/big.json"
expect_error "a 100 kB JSON body" 413 too_large
as "$A" POST /v1/invites -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary "@$SCRATCH/big.json"
expect_error "a chunked 100 kB JSON body" 413 too_large
create_upload "$A" 1000 "$(metadata "$(uuid)" "$A2_ID")"
SMALL_UPLOAD=$UPLOAD
head -c 5000 /dev/urandom >"$SCRATCH/5k"
patch "$A" "$UPLOAD" 0 "$SCRATCH/5k" -H 'Transfer-Encoding: chunked'
expect_error "a chunked PATCH past Upload-Length" 413 too_large
as "$A" HEAD "$UPLOAD" -H 'Tus-Resumable: 1.0.0'
[ "$(hdr upload-offset)" = 0 ] || fail "a refused PATCH moved the offset"
# Malformed metadata of many kinds.
U=$(uuid)
for meta in "" "," "message_id" "message_id $(b64 "$U"),message_id $(b64 "$U"),recipients $(b64 "$A2_ID"),duration_ms $(b64 1)" \
  "message_id $(b64 "$U"),recipients $(b64 "$A2_ID,$A2_ID"),duration_ms $(b64 1)" \
  "message_id $(b64 "$U"),recipients $(b64 "../../x"),duration_ms $(b64 1)" \
  "message_id $(b64 "$U"),recipients $(b64 "$A2_ID"),duration_ms $(b64 -1)" \
  "message_id $(b64 "$U"),recipients $(b64 "$A2_ID"),duration_ms $(b64 99999999999)" \
  "message_id $(b64 "$U"),recipients $(b64 "$A2_ID"),duration_ms $(b64 1)," \
  "message_id  $(b64 "$U"),recipients $(b64 "$A2_ID"),duration_ms $(b64 1)" \
  "message_id $(b64 "$U")==,recipients $(b64 "$A2_ID"),duration_ms $(b64 1)"; do
  create_upload "$A" 1000 "$meta"
  expect_error "metadata '$meta'" 400 malformed
done
# Offsets and lengths that are not numbers.
for off in -1 +5 1e3 0x10 18446744073709551616 99999999999999999999999999; do
  patch "$A" "$SMALL_UPLOAD" "$off" "$SCRATCH/5k"
  expect_error "Upload-Offset '$off'" 400 malformed
done
create_upload "$A" 18446744073709551615 "$(metadata "$(uuid)" "$A2_ID")"
expect_error "a huge Upload-Length" 413 too_large
create_upload "$A" 99999999999999999999999 "$(metadata "$(uuid)" "$A2_ID")"
expect_status "an absurd Upload-Length" 413
# JSON that is valid but not what the route wants.
for body in '[]' '"x"' '{"code":1234567890,"name":"x"}' '{"code":"1234567890"}' \
  '{"code":"1234567890","name":"x","code":"1"}' '{"code":"123456789012345678901","name":"x"}'; do
  req POST /v1/join -H 'Content-Type: application/json' -d "$body"
  [ "$STATUS" = 400 ] || [ "$STATUS" = 429 ] || fail "join body $body: status $STATUS"
done
# A garbage request line and a half-sent request do not hurt anyone.
raw() { # raw BYTES: sends them on a fresh connection, reads what comes back for 2 s
  exec 3<>"/dev/tcp/127.0.0.1/$PORT"
  printf '%b' "$1" >&3
  timeout 2 cat <&3 >"$SCRATCH/raw" || true
  exec 3<&- 3>&-
}
raw 'GARBAGE\r\n\r\n'
# (libmicrohttpd closes such a connection, with or without a 400: either is fine)
raw "PATCH /v1/uploads/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"
raw "GET /v1/family HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $A\r\nConnection: close\r\n\r\n"
grep -q '^HTTP/1.1 200' "$SCRATCH/raw" || fail "a plain request after the garbage: $(head -1 "$SCRATCH/raw")"

# Everyone else is still served.
relay_alive sec
as "$A2" GET /v1/inbox
expect_status "A's grandma after all that" 200
[ "$(json '.messages | length')" = 1 ] || fail "A's grandma's inbox changed"
as "$B2" GET /v1/family
expect_status "B's child after all that" 200
echo "relay security: ok"
