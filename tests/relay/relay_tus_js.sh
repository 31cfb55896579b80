#!/bin/bash
# Conformance with a tus client nobody here wrote: tus-js-client uploads a
# file through the relay, is interrupted, resumes, and the bytes match.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

PEERS=$TESTS_DIR/peers/node_modules
if [ ! -d "$PEERS/tus-js-client" ]; then
  echo "SKIP: tus-js-client is not installed (run: cd tests/peers && npm ci)"
  exit 77
fi
command -v node >/dev/null || fail "node is not installed"

start_relay tusjs
new_family dad; DAD=$TOKEN
join "$CODE" grandma; MA=$TOKEN MA_ID=$DEVICE
head -c 150000 /dev/urandom >"$SCRATCH/audio"
MSG=$(uuid)

BASE=$BASE TOKEN=$DAD RECIPIENT=$MA_ID FILE=$SCRATCH/audio MESSAGE_ID=$MSG PEERS=$PEERS \
  node "$TESTS_DIR/relay/tus_js_client.cjs" >"$SCRATCH/tus.json" || fail "tus-js-client failed"
cat "$SCRATCH/tus.json"
before=$(jq -r .acceptedBefore "$SCRATCH/tus.json")
resumed=$(jq -r .resumedAt "$SCRATCH/tus.json")
[ "$before" -ge 32768 ] || fail "the interruption came before 2 chunks: $before"
[ "$resumed" -ge "$before" ] || fail "the client resumed at $resumed, before the $before bytes acknowledged"
[ "$resumed" -lt 150000 ] || fail "the client did not resume, it had finished"
[ "$(jq -r .secondUrl "$SCRATCH/tus.json")" = "$(jq -r .url "$SCRATCH/tus.json")" ] ||
  fail "the client made a second upload instead of resuming"

as "$MA" GET /v1/inbox
[ "$(json '.messages | length')" = 1 ] || fail "the message is not exactly once in the inbox"
[ "$(json .messages[0].duration_ms)" = 7000 ] || fail "tus-js-client's metadata was not read"
as "$MA" GET "/v1/messages/$MSG"
expect_status "download" 200
cmp -s "$SCRATCH/body" "$SCRATCH/audio" || fail "the stored bytes differ from the file"
grep -q '^jiashu-relay: HEAD /v1/uploads/{id} 200' "$SCRATCH/tusjs.log" || fail "the client never asked where to resume"
echo "tus-js-client: uploaded, interrupted at $before bytes, resumed at $resumed, bytes match"
