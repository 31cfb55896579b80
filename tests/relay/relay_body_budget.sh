#!/bin/bash
# 34 PATCHes from one address announcing 2 MiB and sending a byte every
# 2 s neither hold the relay's body budget nor outlive the minimum body
# rate: an upload from another address goes through meanwhile.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"
start_relay budget --token-burst 1000 --token-rate 1000 --max-family-bytes 1000000000
new_family dad; DAD=$TOKEN
join "$CODE" ma; MA=$TOKEN MA_ID=$DEVICE
as "$DAD" POST /v1/invites; join "$(json .code)" kid; KID=$TOKEN KID_ID=$DEVICE
paths=()
for i in $(seq 34); do
  create_upload "$DAD" 2097152 "$(metadata "$(uuid)" "$MA_ID")"
  expect_status "attacker's upload $i" 201
  paths+=("$UPLOAD")
done
"$SLOW_CLIENT" 127.0.0.2 "$PORT" 0 body 2000 24 "$DAD" "${paths[@]}" >"$SCRATCH/attack" 2>"$SCRATCH/attack.err" &
ATTACK=$!
attack_connected() { grep -q 'slow_client: connected' "$SCRATCH/attack.err"; }
wait_until 30 "the slow client did not send its 34 PATCH headers" attack_connected

head -c 102400 /dev/urandom >"$SCRATCH/100k"
for i in 1 2 3; do
  MSG=$(uuid)
  STATUS=$(curl -s -o "$SCRATCH/body" -D "$SCRATCH/headers" -w '%{http_code}' --max-time 10 \
    --interface 127.0.0.3 -X POST -H "Authorization: Bearer $MA" -H 'Tus-Resumable: 1.0.0' \
    -H 'Upload-Length: 102400' -H "Upload-Metadata: $(metadata "$MSG" "$KID_ID")" \
    -H 'Content-Type: application/offset+octet-stream' --data-binary "@$SCRATCH/100k" \
    "$BASE/v1/uploads") || STATUS=000
  [ "$STATUS" = 201 ] || { cat "$SCRATCH/body" >&2; fail "100 KB upload from another address during the attack: status $STATUS"; }
done
# The client trickles for 24 s at most; the attack is over once the relay
# has closed all its connections (the client closes its end on seeing it).
attack_over() { [ -s "$SCRATCH/attack" ] || ! ss -Htan src 127.0.0.2 dst "127.0.0.1:$PORT" | grep -q .; }
wait_until 60 "the slow client did not end" attack_over
kill -TERM "$ATTACK" 2>/dev/null || true
wait "$ATTACK"
read -r _ opened _ refused _ closed _ median <"$SCRATCH/attack"
echo "attacker: $(cat "$SCRATCH/attack")"
[ "$opened" = 34 ] || fail "only $opened slow PATCHes started"
# 256 bytes/s after a 10 s grace: at a byte per 2 s they go at about 11 s.
[ "$closed" = 34 ] || fail "$((34 - closed)) slow PATCHes outlived the minimum body rate"
awk -v m="$median" 'BEGIN { exit !(m < 20) }' || fail "slow PATCHes closed after ${median}s"
relay_alive budget
