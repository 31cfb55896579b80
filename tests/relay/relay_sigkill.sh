#!/bin/bash
# SIGKILL the relay in the middle of uploads: after the restart every
# completed message is there exactly once, and every partial upload resumes
# from an offset at least as far as the relay acknowledged.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

ROUNDS=2
[ "${SOAK:-0}" = 1 ] && ROUNDS=15
N=8          # uploads in flight per round
CHUNK=20000  # bytes per PATCH; each message is two chunks

start_relay kill --token-rate 1000 --token-burst 1000
new_family dad; DAD=$TOKEN
join "$CODE" grandma; MA=$TOKEN MA_ID=$DEVICE

# One client: creation, then two rate-limited PATCHes, noting what the
# relay acknowledged in $dir/{location,acked}.
client() {
  local dir=$1 msg=$2 len=$3
  local meta loc code
  meta=$(metadata "$msg" "$MA_ID")
  loc=$(curl -s -D - -o /dev/null -X POST -H "Authorization: Bearer $DAD" -H 'Tus-Resumable: 1.0.0' \
    -H "Upload-Length: $len" -H "Upload-Metadata: $meta" "$BASE/v1/uploads" | tr -d '\r' |
    sed -n 's/^[Ll]ocation: //p')
  [ -n "$loc" ] || return 0
  echo "$loc" >"$dir/location"
  local off=0
  while [ "$off" -lt "$len" ]; do
    tail -c +$((off + 1)) "$dir/audio" | head -c "$CHUNK" >"$dir/chunk.$off"
    code=$(curl -s -o /dev/null -w '%{http_code}' --limit-rate 40k -X PATCH \
      -H "Authorization: Bearer $DAD" -H 'Tus-Resumable: 1.0.0' -H "Upload-Offset: $off" \
      -H 'Content-Type: application/offset+octet-stream' --data-binary "@$dir/chunk.$off" \
      "$BASE$loc") || return 0
    [ "$code" = 204 ] || return 0
    off=$((off + $(stat -c %s "$dir/chunk.$off")))
    echo "$off" >"$dir/acked"
  done
}

ALL=()
RESUMED=0
for round in $(seq "$ROUNDS"); do
  pids=()
  for i in $(seq "$N"); do
    d=$SCRATCH/r$round-$i
    mkdir -p "$d"
    head -c $((2 * CHUNK - i * 100)) /dev/urandom >"$d/audio"
    uuid >"$d/msg"
    echo 0 >"$d/acked"
    client "$d" "$(cat "$d/msg")" "$(stat -c %s "$d/audio")" &
    pids+=($!)
    ALL+=("$d")
  done
  sleep "0.$((3 + RANDOM % 6))"
  kill -KILL "$RELAY_PID"
  wait "$RELAY_PID" 2>/dev/null || true
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done

  start_relay kill --token-rate 1000 --token-burst 1000
  for d in "${ALL[@]}"; do
    len=$(stat -c %s "$d/audio")
    acked=$(cat "$d/acked")
    msg=$(cat "$d/msg")
    if [ ! -f "$d/location" ]; then
      # The creation may or may not have landed: repeating it is safe.
      create_upload "$DAD" "$len" "$(metadata "$msg" "$MA_ID")"
      expect_status "creation repeated after the kill" 201
      echo "$UPLOAD" >"$d/location"
    fi
    loc=$(cat "$d/location")
    as "$DAD" HEAD "$loc" -H 'Tus-Resumable: 1.0.0'
    expect_status "HEAD after the kill" 200
    off=$(hdr upload-offset)
    [ "$off" -ge "$acked" ] || fail "$d: the relay acknowledged $acked bytes but kept $off"
    [ "$off" -le "$len" ] || fail "$d: offset $off past the length $len"
    [ $((off % CHUNK)) = 0 ] || [ "$off" = "$len" ] || fail "$d: offset $off is not a chunk boundary"
    if [ "$off" -lt "$len" ]; then
      RESUMED=$((RESUMED + 1))
      tail -c +$((off + 1)) "$d/audio" >"$d/rest"
      patch "$DAD" "$loc" "$off" "$d/rest"
      expect_status "resume at $off" 204
      [ "$(hdr upload-offset)" = "$len" ] || fail "$d: resumed upload did not complete"
    fi
    echo "$len" >"$d/acked"
  done
done

# Every message exactly once, with its bytes.
as "$MA" GET /v1/inbox
[ "$(json '.messages | length')" = "${#ALL[@]}" ] || fail "inbox has $(json '.messages | length') messages, expected ${#ALL[@]}"
[ "$(json '[.messages[].message_id] | unique | length')" = "${#ALL[@]}" ] || fail "a message is in the inbox twice"
for d in "${ALL[@]}"; do
  msg=$(cat "$d/msg")
  as "$MA" GET "/v1/messages/$msg"
  expect_status "download $msg" 200
  cmp -s "$SCRATCH/body" "$d/audio" || fail "$msg: bytes differ after the kills"
done
[ "$RESUMED" -gt 0 ] || fail "no upload was cut by the kills: the test proved nothing"
echo "relay sigkill: ${#ALL[@]} uploads over $ROUNDS kills, $RESUMED resumed, all exactly once"
