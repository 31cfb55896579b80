#!/bin/bash
# Members: names are unique within a family (ASCII case aside) and carry no
# control characters or bidirectional overrides; a device removes itself,
# and only the family's keeper (its oldest device) removes others.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

start_relay members --join-burst 100 --join-rate 100

# --- names ------------------------------------------------------------------
for bad in 'ma\u009b2J\u202e' 'ma\u009b2J' 'evil\u202egnp.exe' 'x\u2066y' 'x\u200fy' 'a\u061cb' 'tab\tname' 'del\u007f' 'nl\nx'; do
  req POST /v1/families -H 'Content-Type: application/json' -d "{\"name\":\"$bad\"}"
  expect_error "family creation with name '$bad'" 400 malformed
done
new_family dad; DAD=$TOKEN DAD_ID=$DEVICE
as "$DAD" POST /v1/invites; INVITE=$(json .code)
req POST /v1/join -H 'Content-Type: application/json' -d "{\"code\":\"$INVITE\",\"name\":\"ma\\u009b2J\\u202e\"}"
expect_error "join with C1 and bidi override in the name" 400 malformed
req POST /v1/join -H 'Content-Type: application/json' -d "{\"code\":\"$INVITE\",\"name\":\"dad\"}"
expect_error "join with the keeper's name" 409 conflict
req POST /v1/join -H 'Content-Type: application/json' -d "{\"code\":\"$INVITE\",\"name\":\"DAD\"}"
expect_error "join with the keeper's name in capitals" 409 conflict
join "$INVITE" "妈妈"; MA=$TOKEN MA_ID=$DEVICE   # the invite outlived the refusals
as "$DAD" POST /v1/invites; join "$(json .code)" kid; KID=$TOKEN KID_ID=$DEVICE
as "$DAD" POST /v1/invites; INVITE=$(json .code)
req POST /v1/join -H 'Content-Type: application/json' -d "{\"code\":\"$INVITE\",\"name\":\"妈妈\"}"
expect_error "join with a member's Chinese name" 409 conflict
# Another family may use the same names.
new_family dad; OTHER=$TOKEN

# --- who removes whom -------------------------------------------------------
as "$MA" DELETE "/v1/devices/$DAD_ID"
expect_error "a member removes the keeper" 403 forbidden
as "$MA" DELETE "/v1/devices/$KID_ID"
expect_error "a member removes another member" 403 forbidden
as "$DAD" GET /v1/family
[ "$(json '.members | length')" = 3 ] || fail "a refused removal removed someone"
as "$OTHER" DELETE "/v1/devices/$KID_ID"
expect_error "another family's keeper" 404 not_found
as "$KID" DELETE "/v1/devices/$KID_ID"
expect_status "a device removes itself" 204
as "$KID" GET /v1/family
expect_error "the removed device" 401 unauthorized
as "$DAD" POST /v1/invites; join "$(json .code)" kid; KID=$TOKEN KID_ID=$DEVICE   # the name is free again
as "$DAD" DELETE "/v1/devices/$MA_ID"
expect_status "the keeper removes a member" 204
as "$MA" GET /v1/inbox
expect_error "the member the keeper removed" 401 unauthorized
# When the keeper leaves, the oldest remaining device keeps the family.
as "$DAD" DELETE "/v1/devices/$DAD_ID"
expect_status "the keeper removes itself" 204
as "$DAD" POST /v1/invites
expect_error "the old keeper" 401 unauthorized
as "$KID" POST /v1/invites; join "$(json .code)" grandpa; PA_ID=$DEVICE
as "$KID" DELETE "/v1/devices/$PA_ID"
expect_status "the new keeper removes a member" 204
relay_alive members
