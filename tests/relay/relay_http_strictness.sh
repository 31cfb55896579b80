#!/bin/bash
# HTTP framing and Range headers: a request with both Content-Length and
# Transfer-Encoding is refused with 400 and its connection closed (request
# smuggling behind a proxy); a malformed Range is ignored (200, the whole
# message) and one that ends past the message is clamped (RFC 9110 14.2).
# A tus OPTIONS keeps its connection: a client asks it right before it
# uploads, and a new connection on 2G costs a handshake and a slow start.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

start_relay strict
new_family dad; DAD=$TOKEN
join "$CODE" ma; MA=$TOKEN MA_ID=$DEVICE
head -c 1000 /dev/urandom >"$SCRATCH/audio"
send "$DAD" "$MA_ID" "$SCRATCH/audio"

# --- Content-Length with Transfer-Encoding -------------------------------
# A raw request: curl would drop one of the two headers itself.
raw_request() {
  exec 3<>"/dev/tcp/127.0.0.1/$PORT"
  # The relay may answer and close before the whole request is written.
  (trap '' PIPE; printf '%s' "$1" >&3) 2>/dev/null || true
  timeout 5 cat <&3 >"$SCRATCH/raw" || true
  exec 3<&-
}
body='{"name":"smuggler"}'
raw_request "$(printf 'POST /v1/families HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\nGET /v1/inbox HTTP/1.1\r\nHost: x\r\n\r\n' "${#body}" "${#body}" "$body")"
head -1 "$SCRATCH/raw" | grep -q '^HTTP/1.1 400' || fail "CL + TE: $(head -1 "$SCRATCH/raw")"
[ "$(grep -c '^HTTP/1.1' "$SCRATCH/raw")" = 1 ] || fail "CL + TE: the connection went on to a second request"
grep -qi '^connection: close' "$SCRATCH/raw" || fail "CL + TE: the answer does not close the connection"
grep -q 'family_id' "$SCRATCH/raw" && fail "CL + TE: a family was created"
# Each framing alone still works.
req POST /v1/families -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' -d '{"name":"chunked"}'
expect_status "chunked alone" 201
req POST /v1/families -H 'Content-Type: application/json' -d '{"name":"length"}'
expect_status "Content-Length alone" 201

# --- Range ----------------------------------------------------------------
range() { as "$MA" GET "/v1/messages/$MSG" -H "Range: $1"; }
for bad in 'bytes=abc' 'bytes=5-2' 'bytes=-' 'bytes=1-x' 'bytes=--5' 'bytes=0-1-2' 'bytes= 0-1' 'bytes=-0x10'; do
  range "$bad"
  expect_status "malformed Range '$bad' is ignored" 200
  cmp -s "$SCRATCH/body" "$SCRATCH/audio" || fail "Range '$bad': not the whole message"
done
range 'bytes=10-99999999999999999999999999999'
expect_status "a Range ending far past the message" 206
[ "$(hdr content-range)" = "bytes 10-999/1000" ] || fail "overflowing end not clamped: $(hdr content-range)"
range 'bytes=-99999999999999999999999999999'
expect_status "a suffix longer than the message" 206
[ "$(hdr content-range)" = "bytes 0-999/1000" ] || fail "overflowing suffix: $(hdr content-range)"
range 'bytes=99999999999999999999999999999-'
expect_error "a Range starting far past the message" 416 range_not_satisfiable
range 'bytes=1000-'
expect_error "a Range starting at the end" 416 range_not_satisfiable
range 'bytes=10-19'
expect_status "a plain Range" 206
[ "$(stat -c %s "$SCRATCH/body")" = 10 ] || fail "plain Range: wrong length"

# --- OPTIONS keeps the connection ----------------------------------------
curl -sv -X OPTIONS -H 'Tus-Resumable: 1.0.0' -o /dev/null -o /dev/null \
  "http://127.0.0.1:$PORT/v1/uploads" "http://127.0.0.1:$PORT/v1/uploads" 2>"$SCRATCH/options" ||
  fail "OPTIONS: curl failed"
[ "$(grep -c '^< HTTP/1.1 204' "$SCRATCH/options")" = 2 ] || fail "OPTIONS: $(grep '^< HTTP' "$SCRATCH/options")"
[ "$(grep -c '^\* Connected to' "$SCRATCH/options")" = 1 ] ||
  fail "OPTIONS closed its connection: $(grep -i '^< connection\|^\* Connected' "$SCRATCH/options")"
relay_alive strict
