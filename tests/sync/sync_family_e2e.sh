#!/bin/bash
# The whole story on loopback with the real relay: a parent and a child
# paired by invite code; the parent records and syncs; the child syncs,
# holds exactly that message, plays it and syncs; the parent sees
# delivered, then played. Then the watch mode: idle, it keeps one long
# poll open per wait (counted at a proxy in front of the relay); a new
# message is ready on the child within a second or so of the parent's sync.
# Every --json output on the way follows its schema (docs/schema/).
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"

start_relay relay
# Clear refusals before anything is set up.
expect_error_matching "sync before setup" "not set up" "$JIASHU" --home "$SCRATCH/new" sync
expect_error_matching "family before setup" "not set up" "$JIASHU" --home "$SCRATCH/new" family
expect_error_matching "a relay that is not http" "http" "$JIASHU" --home "$SCRATCH/new" setup --relay ftp://relay --name x
expect_error_matching "a join code with letters" "digits" "$JIASHU" --home "$SCRATCH/new" family join 12ab
"$JIASHU" --home "$SCRATCH/down" setup --relay http://127.0.0.1:1 --name x
expect_error_matching "a relay that is down" "reached|broke" "$JIASHU" --home "$SCRATCH/down" family create

family "http://127.0.0.1:$RELAY_PORT"
expect_error_matching "a second family" "already" "$JIASHU" "${PARENT[@]}" family create
"$JIASHU" "${CHILD[@]}" family | grep -q mama || fail "the child does not list the parent"
"$JIASHU" "${PARENT[@]}" family | grep -q nainai || fail "the parent does not list the child"

# A second invite brings in a third device.
code=$("$JIASHU" "${PARENT[@]}" family invite) || fail "family invite"
echo "$code" | grep -Eq '^[0-9]+$' || fail "family invite printed '$code'"
"$JIASHU" --home "$SCRATCH/uncle" setup --relay "http://127.0.0.1:$RELAY_PORT" --name jiujiu
"$JIASHU" --home "$SCRATCH/uncle" family join "$code" || fail "join with a second invite"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "parent sync (pairing the uncle)"
"$JIASHU" --home "$SCRATCH/uncle" sync >/dev/null || fail "uncle sync (pairing)"
"$JIASHU" --home "$SCRATCH/aunt" setup --relay "http://127.0.0.1:$RELAY_PORT" --name ayi
expect_error_matching "a used invite" "not|used|found" "$JIASHU" --home "$SCRATCH/aunt" family join "$code"
[ "$("$JIASHU" "${PARENT[@]}" family | wc -l)" = 3 ] || fail "the family does not list three members"
"$JIASHU" "${PARENT[@]}" family --json >"$SCRATCH/family.json" || fail "family --json"
check_schema family "$SCRATCH/family.json"
[ "$(jq -c '[.[] | select(.this_device) | .name]' "$SCRATCH/family.json")" = '["mama"]' ] || fail "family --json: $(cat "$SCRATCH/family.json")"

note "$SCRATCH/in.wav" 3
id=$("$JIASHU" "${PARENT[@]}" record --to nainai --input "$SCRATCH/in.wav") || fail "record"
"$JIASHU" "${PARENT[@]}" sync >"$SCRATCH/p1" || fail "parent sync"
grep -q "^sent $id" "$SCRATCH/p1" || fail "the parent's sync did not send $id: $(cat "$SCRATCH/p1")"
[ "$(count_state outbox sent "${PARENT[@]}")" = 1 ] || fail "the outbox message is not 'sent'"

"$JIASHU" "${CHILD[@]}" sync >"$SCRATCH/c1" || fail "child sync"
"$JIASHU" "${CHILD[@]}" inbox --json >"$SCRATCH/inbox.json"
[ "$(jq length "$SCRATCH/inbox.json")" = 1 ] || fail "the child holds $(jq length "$SCRATCH/inbox.json") messages, not 1"
[ "$(jq -r '.[0].id' "$SCRATCH/inbox.json")" = "$id" ] || fail "the child holds another message"
[ "$(jq -r '.[0].state' "$SCRATCH/inbox.json")" = ready ] || fail "the message is not ready on the child"
check_schema inbox "$SCRATCH/inbox.json"
"$JIASHU" "${PARENT[@]}" export "$id" "$SCRATCH/sent.opus" || fail "export (parent)"
"$JIASHU" "${CHILD[@]}" export "$id" "$SCRATCH/got.opus" || fail "export (child)"
cmp "$SCRATCH/sent.opus" "$SCRATCH/got.opus" || fail "the child's bytes differ from the parent's"
"$JIASHU" decode "$SCRATCH/sent.opus" "$SCRATCH/sent.wav" || fail "decode (parent)"

"$JIASHU" "${PARENT[@]}" sync --json >"$SCRATCH/p2.json" || fail "parent sync 2"
check_schema sync-event "$SCRATCH/p2.json" --lines
jq -se '[.[] | select(.event == "receipt") | .state] == ["delivered"]' "$SCRATCH/p2.json" >/dev/null || fail "no delivered receipt event: $(cat "$SCRATCH/p2.json")"
[ "$(count_state outbox delivered "${PARENT[@]}")" = 1 ] || fail "the parent does not see 'delivered'"
"$JIASHU" "${PARENT[@]}" outbox --json >"$SCRATCH/outbox.json" || fail "outbox --json"
check_schema outbox "$SCRATCH/outbox.json"

"$JIASHU" "${CHILD[@]}" play --next --output "$SCRATCH/played.wav" >/dev/null || fail "play --next"
[ "$(soxi -D "$SCRATCH/played.wav")" = "$(soxi -D "$SCRATCH/sent.wav")" ] ||
  fail "played $(soxi -D "$SCRATCH/played.wav") s, the note is $(soxi -D "$SCRATCH/sent.wav") s"
"$JIASHU" "${CHILD[@]}" sync --json >"$SCRATCH/c2.json" || fail "child sync 2"
check_schema sync-event "$SCRATCH/c2.json" --lines
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "parent sync 3"
[ "$(count_state outbox played "${PARENT[@]}")" = 1 ] || fail "the parent does not see 'played'"

# Nothing moves twice: more syncs change nothing on either side.
"$JIASHU" "${PARENT[@]}" sync --json | tail -1 >"$SCRATCH/p4"
"$JIASHU" "${CHILD[@]}" sync --json | tail -1 >"$SCRATCH/c4"
[ "$(jq '.sent + .received + .receipts_sent + .receipts_received' "$SCRATCH/p4")" = 0 ] || fail "a repeated parent sync moved something: $(cat "$SCRATCH/p4")"
[ "$(jq '.sent + .received + .receipts_sent + .receipts_received' "$SCRATCH/c4")" = 0 ] || fail "a repeated child sync moved something: $(cat "$SCRATCH/c4")"
[ "$("$JIASHU" "${CHILD[@]}" inbox --json | jq length)" = 1 ] || fail "the child holds a duplicate"
[ "$(count_state inbox played "${CHILD[@]}")" = 1 ] || fail "the child's message is not 'played'"

# Watch: the child waits in a long poll, through a proxy that counts the
# inbox requests; idle, it sends one per wait (60 s) and no more.
need_node
start_proxy "$RELAY_PORT"
inbox_requests() { curl -sf "$PROXY_URL/__stats" | jq .inbox; }
env -u no_proxy -u NO_PROXY http_proxy="$PROXY_URL" \
  "$JIASHU" "${CHILD[@]}" sync --watch --json >"$SCRATCH/watch" 2>"$SCRATCH/watch.err" &
watcher=$!
SYNC_PIDS="$SYNC_PIDS $watcher"
for _ in $(seq 200); do [ "$(inbox_requests)" -ge 2 ] && break; sleep 0.05; done
grep -q '"waiting"' "$SCRATCH/watch" || fail "sync --watch did not start waiting: $(cat "$SCRATCH/watch" "$SCRATCH/watch.err")"
[ "$(inbox_requests)" = 2 ] || fail "sync --watch did not begin its long poll: $(inbox_requests) inbox requests"
sleep 2 # idle on purpose: what an idle watch does in these two seconds is the point
[ "$(inbox_requests)" = 2 ] ||
  fail "an idle sync --watch sent $(($(inbox_requests) - 2)) more inbox requests within 2 s of a 60 s wait"
note "$SCRATCH/in2.wav" 1
id2=$("$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/in2.wav") || fail "record 2"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "parent sync (watch)"
t0=$(date +%s.%N)
for _ in $(seq 100); do grep -q "\"received\",\"id\":\"$id2\"" "$SCRATCH/watch" && break; sleep 0.02; done
t1=$(date +%s.%N)
grep -q "\"received\",\"id\":\"$id2\"" "$SCRATCH/watch" || fail "the watching child did not receive $id2: $(cat "$SCRATCH/watch")"
lag=$(echo "$t1 - $t0" | bc)
echo "watch: ready on the child $lag s after the parent's sync returned"
[ "$(echo "$lag < 1.5" | bc)" = 1 ] || fail "the watching child took $lag s to get the message"
kill -9 "$watcher"; wait "$watcher" 2>/dev/null || true
check_schema sync-event "$SCRATCH/watch" --lines
[ "$(count_state inbox ready "${CHILD[@]}")" = 1 ] || fail "the new message is not ready on the child"

# One request tells a sync everything that came to it: the receipts and the
# roster's ETag ride on the inbox answer (net/PROTOCOL.md), so the parent
# learns that the child got the note with that one request, and asks
# neither GET /v1/receipts nor GET /v1/roster (unchanged): two round trips
# less on every 2G sync.
paths() { curl -sf "$PROXY_URL/__stats" | jq -c .paths; }
before=$(paths)
env -u no_proxy -u NO_PROXY http_proxy="$PROXY_URL" \
  "$JIASHU" "${PARENT[@]}" sync --json | tail -1 >"$SCRATCH/p5" || fail "parent sync (receipt of $id2)"
[ "$(jq .receipts_received "$SCRATCH/p5")" = 1 ] || fail "the parent did not take the child's receipt: $(cat "$SCRATCH/p5")"
asked=$(jq -nc --argjson a "$before" --argjson b "$(paths)" \
  '$b | to_entries | map(select(.value > ($a[.key] // 0)) | "\(.key) \(.value - ($a[.key] // 0))") | sort | join(", ")')
[ "$asked" = '"GET /v1/inbox 1"' ] || fail "a sync with one receipt to take asked the relay: $asked"
echo ok
