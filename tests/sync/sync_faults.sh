#!/bin/bash
# The sync client against a relay that misbehaves: 500, 503 and 429 answers
# (Retry-After honoured), a 4xx that no retry can fix (not retried), a
# corrupted audio body (rejected, fetched again, never ready), the relay
# killed and restarted mid-upload, syncs killed with SIGKILL at random
# moments, and TLS: an HTTPS relay works, an untrusted certificate is fatal.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
need_node

start_relay relay
relay_port=$RELAY_PORT
start_proxy "$relay_port"
family "http://127.0.0.1:$PROXY_PORT"

done_field() { tail -1 "$1" | jq -r ".$2"; }
stats() { curl -sk "$PROXY_URL/__stats"; }

# --- 500, 503, 460, 409 and 429 are retried; Retry-After is waited out ---
note "$SCRATCH/a.wav" 2
id=$("$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/a.wav")
fault '{"fail":[{"status":500,"count":2,"method":"PATCH"},{"status":460,"count":1,"method":"PATCH"},{"status":409,"count":1,"method":"PATCH"},{"status":503,"count":1,"method":"POST","path":"/v1/uploads"},{"status":429,"count":2,"retry_after":1,"path":"/v1/inbox"}]}'
start=$(date +%s.%N)
"$JIASHU" "${PARENT[@]}" sync --json >"$SCRATCH/s1" || fail "sync through 500/503/429 failed: $(cat "$SCRATCH/s1")"
took=$(echo "$(date +%s.%N) - $start" | bc)
[ "$(done_field "$SCRATCH/s1" sent)" = 1 ] || fail "the message was not sent through 500/503"
[ "$(stats | jq '.failed["500"] + .failed["460"] + .failed["409"] + .failed["503"] + .failed["429"]')" = 7 ] || fail "not every injected error was met: $(stats)"
[ "$(echo "$took >= 2" | bc)" = 1 ] || fail "two 429s with Retry-After: 1 took only $took s"
fault '{"fail":[{"status":503,"count":1,"path":"/v1/inbox"},{"status":500,"count":1,"path":"/v1/messages/"}]}'
"$JIASHU" "${CHILD[@]}" sync --json >"$SCRATCH/c1" || fail "child sync through 503/500 failed"
[ "$(done_field "$SCRATCH/c1" received)" = 1 ] || fail "the child did not receive through 503/500"

# --- a 4xx that a retry cannot fix is tried once --------------------------
id=$("$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/a.wav")
fault '{"fail":[{"status":403,"count":10,"method":"POST","path":"/v1/uploads"}]}'
"$JIASHU" "${PARENT[@]}" sync --json >"$SCRATCH/s2" || true
[ "$(stats | jq '.failed["403"]')" = 1 ] || fail "a 403 was retried: $(stats)"
grep -q '"failed"' "$SCRATCH/s2" || fail "the refused message was not reported"
# Still waiting to send: ready, or uploading(0) once a first attempt began.
[ "$(( $(count_state outbox ready "${PARENT[@]}") + $(count_state outbox uploading "${PARENT[@]}") ))" = 1 ] ||
  fail "the refused message left the outbox"
fault '{}'
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "sync after the 403 cleared"
[ "$(count_state outbox ready "${PARENT[@]}")" = 0 ] || fail "the message stayed unsent"

# --- a corrupted body is rejected, fetched again, never marked ready -----
fault '{"corrupt":1}'
"$JIASHU" "${CHILD[@]}" sync --json >"$SCRATCH/c2" || fail "child sync with one corrupted body failed"
[ "$(stats | jq .corrupted)" -ge 1 ] || fail "the proxy corrupted nothing"
grep -q '"rejected"' "$SCRATCH/c2" || fail "the corrupted body was not rejected: $(cat "$SCRATCH/c2")"
[ "$(done_field "$SCRATCH/c2" received)" = 1 ] || fail "the message was not fetched again"
"$JIASHU" "${PARENT[@]}" export "$id" "$SCRATCH/sent.opus"
"$JIASHU" "${CHILD[@]}" export "$id" "$SCRATCH/got.opus"
cmp "$SCRATCH/sent.opus" "$SCRATCH/got.opus" || fail "the child kept corrupted bytes"
# Always corrupted: never ready, and the sync says so.
id=$("$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/a.wav")
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "parent sync (corrupt forever)"
fault '{"corrupt":1000}'
"$JIASHU" "${CHILD[@]}" sync --json >"$SCRATCH/c3" 2>"$SCRATCH/c3.err" && fail "a sync whose every download is corrupted succeeded"
[ "$(wc -l <"$SCRATCH/c3.err")" = 1 ] || fail "expected one error line: $(cat "$SCRATCH/c3.err")"
"$JIASHU" "${CHILD[@]}" inbox --json | jq -e ".[] | select(.id == \"$id\") | .state != \"ready\"" >/dev/null ||
  fail "a corrupted message was marked ready"
fault '{}'
"$JIASHU" "${CHILD[@]}" sync >/dev/null || fail "child sync after the corruption stopped"
"$JIASHU" "${CHILD[@]}" inbox --json | jq -e ".[] | select(.id == \"$id\") | .state == \"ready\"" >/dev/null ||
  fail "the message is not ready once the bodies are whole"

# --- the relay killed and restarted in the middle of an upload ------------
note "$SCRATCH/long.wav" 12
id=$("$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/long.wav")
fault '{"upload_bps":6000}'
"$JIASHU" "${PARENT[@]}" sync --json >"$SCRATCH/s3" 2>&1 &
syncer=$!
sleep 1.2
kill -9 "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
sleep 1
start_relay relay "$relay_port"
wait "$syncer" || fail "the upload did not survive a relay restart: $(cat "$SCRATCH/s3")"
[ "$(done_field "$SCRATCH/s3" sent)" = 1 ] || fail "the upload did not finish: $(cat "$SCRATCH/s3")"
[ "$(done_field "$SCRATCH/s3" interruptions)" -ge 1 ] || fail "the relay was not killed mid-upload: $(tail -1 "$SCRATCH/s3")"
echo "relay restart: $(tail -1 "$SCRATCH/s3")"
fault '{}'
"$JIASHU" "${CHILD[@]}" sync >/dev/null || fail "child sync after the relay restart"
"$JIASHU" "${PARENT[@]}" export "$id" "$SCRATCH/sent.opus"
"$JIASHU" "${CHILD[@]}" export "$id" "$SCRATCH/got.opus" || fail "the child did not get the message uploaded across a relay restart"
cmp "$SCRATCH/sent.opus" "$SCRATCH/got.opus" || fail "bytes differ after a relay restart"

# --- syncs killed with SIGKILL at random moments -------------------------
for i in 1 2 3; do "$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/a.wav" >/dev/null; done
"$JIASHU" "${CHILD[@]}" play --next --output "$SCRATCH/p.wav" >/dev/null
fault '{"upload_bps":4000}'
for round in 1 2 3 4 5 6; do
  "$JIASHU" "${PARENT[@]}" sync >/dev/null 2>&1 &
  p=$!
  "$JIASHU" "${CHILD[@]}" sync >/dev/null 2>&1 &
  c=$!
  sleep "0.$((RANDOM % 9 + 1))"
  kill -9 "$p" "$c" 2>/dev/null || true
  wait "$p" "$c" 2>/dev/null || true
done
fault '{}'
for i in 1 2; do
  "$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "parent sync after the kills"
  "$JIASHU" "${CHILD[@]}" sync >/dev/null || fail "child sync after the kills"
done
"$JIASHU" "${PARENT[@]}" sync >/dev/null
sent=$("$JIASHU" "${PARENT[@]}" outbox --json | jq length)
got=$("$JIASHU" "${CHILD[@]}" inbox --json | jq length)
[ "$got" = "$sent" ] || fail "the parent sent $sent messages, the child holds $got"
[ "$("$JIASHU" "${CHILD[@]}" inbox --json | jq '[.[].id] | unique | length')" = "$got" ] || fail "duplicates on the child"
[ "$("$JIASHU" "${CHILD[@]}" inbox --json | jq '[.[] | select(.state != "ready" and .state != "played")] | length')" = 0 ] ||
  fail "messages left half-fetched on the child"
[ "$("$JIASHU" "${PARENT[@]}" outbox --json | jq '[.[] | select(.state != "delivered" and .state != "played")] | length')" = 0 ] ||
  fail "messages not delivered in the parent's view: $("$JIASHU" "${PARENT[@]}" outbox)"
[ "$(count_state outbox played "${PARENT[@]}")" = "$(count_state inbox played "${CHILD[@]}")" ] ||
  fail "played marks differ between the child and the parent's view"

# --- a forward proxy from the environment, as libcurl reads it ------------
"$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/a.wav" >/dev/null
"$JIASHU" "${PARENT[@]}" config relay_url "http://127.0.0.1:$relay_port" >/dev/null
http_proxy=http://127.0.0.1:$PROXY_PORT no_proxy= NO_PROXY= "$JIASHU" "${PARENT[@]}" sync >"$SCRATCH/px" ||
  fail "sync through an http_proxy failed"
grep -q '^sent ' "$SCRATCH/px" || fail "nothing sent through the proxy"
[ "$(stats | jq '.as_proxy // 0')" -ge 2 ] || fail "the requests did not go through http_proxy: $(stats)"

# --- TLS: an HTTPS relay works; an untrusted certificate is fatal ---------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$SCRATCH/key.pem" -out "$SCRATCH/cert.pem" \
  -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null || fail "openssl"
start_proxy "$relay_port" --tls "$SCRATCH/key.pem" "$SCRATCH/cert.pem"
"$JIASHU" "${PARENT[@]}" config relay_url "https://127.0.0.1:$PROXY_PORT" >/dev/null
start=$(date +%s)
expect_error_matching "an untrusted certificate" "certificate" "$JIASHU" "${PARENT[@]}" sync
[ $(($(date +%s) - start)) -le 5 ] || fail "a certificate error was retried"
[ "$(stats | jq .requests)" = 0 ] || fail "a request went through an untrusted TLS connection"
"$JIASHU" "${PARENT[@]}" config ca_file "$SCRATCH/cert.pem" >/dev/null
"$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/a.wav" >/dev/null
"$JIASHU" "${PARENT[@]}" sync >"$SCRATCH/tls" || fail "sync over HTTPS with the CA given failed"
grep -q '^sent ' "$SCRATCH/tls" || fail "nothing sent over HTTPS"
CURL_CA_BUNDLE=$SCRATCH/cert.pem "$JIASHU" "${CHILD[@]}" config relay_url "https://127.0.0.1:$PROXY_PORT" >/dev/null
CURL_CA_BUNDLE=$SCRATCH/cert.pem "$JIASHU" "${CHILD[@]}" sync >"$SCRATCH/tls2" || fail "sync over HTTPS with CURL_CA_BUNDLE failed"
grep -q '^received ' "$SCRATCH/tls2" || fail "nothing received over HTTPS"
echo ok
