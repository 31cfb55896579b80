#!/bin/bash
# The relay's operator log: with --log-format json every line it writes in a
# short real session (start, requests of every kind, a cut upload, hostile
# requests, stop) is one JSON object with the documented fields; in the
# text format, nothing a client sends (method, path, headers, ids) ends a
# line or puts a control byte or invalid UTF-8 into the log.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

"$JIASHU_RELAY" --listen 127.0.0.1:0 --db "$SCRATCH/x.db" --log-format xml 2>"$SCRATCH/bad" &&
  fail "--log-format xml was taken"
grep -q 'log-format is text or json' "$SCRATCH/bad" || fail "--log-format xml said: $(cat "$SCRATCH/bad")"

# hostile: raw requests whose method, path and headers carry escape
# sequences, quotes, backslashes, NUL-like bytes and invalid UTF-8.
hostile() {
  python3 - "$PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
reqs = [
    b"G\x1b[31mET /v1/inbox HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET\x7f\"\\ /v1/x HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\xff\xfe\xc3 /v1/inbox HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/uploads/\"\x1b]0;owned\x07%0a%00%ff HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /v1/messages/%22%0d%0ajiashu-relay:%20fake HTTP/1.1\r\nHost: x\r\n"
    b"Authorization: Bearer \"}\n{\"level\":\"error\r\nX-Forwarded-For: \x1b[2J\r\n\r\n",
    b"POST /v1/families HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 26\r\n\r\n{\"name\":\"\\u001b[31m\\\"}\"}",
]
for req in reqs:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    s.settimeout(5)
    try:
        s.recv(4096)
    except OSError:
        pass
    s.close()
PY
}

# --- JSON: a real session -------------------------------------------------------
start_relay json --log-format json --token-rate 1000 --token-burst 1000 --join-burst 100 --join-rate 100
JSON_PID=$RELAY_PID
new_family dad; DAD=$TOKEN
join "$CODE" grandma; MA=$TOKEN MA_ID=$DEVICE
head -c 30000 /dev/urandom >"$SCRATCH/audio"
send "$DAD" "$MA_ID" "$SCRATCH/audio"
as "$MA" GET /v1/inbox
expect_status "inbox" 200
as "$MA" GET "/v1/messages/$MSG"
expect_status "download" 200
as "$MA" POST "/v1/messages/$MSG/receipts" -H 'Content-Type: application/json' -d '{"state":"played"}'
expect_status "receipt" 204
as "$DAD" GET "/v1/receipts?wait=1"
as "$MA" GET "/v1/messages/$(uuid)"
expect_error "unknown message" 404 not_found
# A PATCH cut after 10,000 of its 30,000 bytes: a "closed" line.
create_upload "$DAD" 30000 "$(metadata "$(uuid)" "$MA_ID")"
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
{
  printf 'PATCH %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n' "$UPLOAD" "$DAD"
  printf 'Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n'
  printf 'Content-Length: 30000\r\n\r\n'
  head -c 10000 "$SCRATCH/audio"
} >&3
exec 3>&-
for _ in $(seq 100); do grep -q '"closed":true' "$SCRATCH/json.log" && break; sleep 0.1; done
hostile
kill -TERM "$JSON_PID"
wait "$JSON_PID" || fail "the relay did not stop cleanly: $(tail -3 "$SCRATCH/json.log")"
RELAY_PIDS=""

LOG=$SCRATCH/json.log
[ "$(wc -l <"$LOG")" -ge 15 ] || fail "too few log lines: $(cat "$LOG")"
# Every line parses alone, and has the fields of its kind.
lineno=0
while IFS= read -r line; do
  lineno=$((lineno + 1))
  printf '%s' "$line" | jq -e '
    type == "object"
    and (.time | type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z$"))
    and (.level == "info" or .level == "error")
    and (.pid | type == "number")
    and (if .event == "request" then
           (.method | type == "string") and (.route | type == "string")
           and (.status | type == "number") and (.bytes_in | type == "number")
           and (.bytes_out | type == "number") and (.ms | type == "number")
           and (.closed | type == "boolean") and (.bytes_kept | type == "boolean")
         else (.msg | type == "string" and length > 0) and (has("event") | not) end)' \
    >/dev/null 2>&1 || fail "log line $lineno is not the documented JSON: $line"
done <"$LOG"
LC_ALL=C grep -n -P '[\x00-\x09\x0b-\x1f\x7f]' "$LOG" && fail "raw control bytes in the JSON log"
jq -s -e 'map(select(.event == "request")) | length >= 14' "$LOG" >/dev/null ||
  fail "fewer request lines than requests: $(cat "$LOG")"
for want in \
  'select(.event == "request" and .method == "POST" and .route == "/v1/families" and .status == 201)' \
  'select(.event == "request" and .method == "PATCH" and .route == "/v1/uploads/{id}" and .status == 204)' \
  'select(.event == "request" and .route == "/v1/messages/{id}" and .status == 404)' \
  'select(.event == "request" and .method == "PATCH" and .closed and .bytes_kept and .status == 0)' \
  'select(.event == "request" and .method == "G\\x1b[31mET" and .status == 405)' \
  'select(.event == "request" and .method == "\\xff\\xfe\\xc3")' \
  'select(.msg | test("^listening on 127.0.0.1:[0-9]+$"))' \
  'select(.msg == "stopped on signal 15")'; do
  [ "$(jq -c "$want" "$LOG" | wc -l)" -ge 1 ] || fail "no log line matching $want: $(cat "$LOG")"
done
grep -q -e 'Bearer' -e "$DAD" -e "$MA" -e 'owned' -e 'fake' "$LOG" &&
  fail "a token, a header or a path reached the log: $(grep -e Bearer -e owned -e fake "$LOG")"

# --- text: the same hostile requests ---------------------------------------------
start_relay text
hostile
kill -TERM "$RELAY_PID"
wait "$RELAY_PID" || fail "the text relay did not stop cleanly"
RELAY_PIDS=""
LOG=$SCRATCH/text.log
LC_ALL=C grep -n -P '[\x00-\x09\x0b-\x1f\x7f]' "$LOG" && fail "raw control bytes in the text log"
iconv -f UTF-8 -t UTF-8 "$LOG" >/dev/null 2>&1 || fail "the text log is not UTF-8"
grep -v -n '^jiashu-relay: ' "$LOG" && fail "a line that is not the relay's own"
grep -qF 'jiashu-relay: G\x1b[31mET /v1/inbox 405' "$LOG" || fail "the escaped method: $(cat "$LOG")"
grep -qF 'jiashu-relay: GET\x7f"\x5c (no route) 404' "$LOG" || fail "DEL and backslash escaped: $(cat "$LOG")"
grep -q -e 'owned' -e 'fake' "$LOG" && fail "a path reached the log"
[ "$(grep -c 'jiashu-relay: ' "$LOG")" = "$(wc -l <"$LOG")" ] || fail "lines were split"
echo "ok: every log line is the documented JSON, and nothing a client sends escapes"
