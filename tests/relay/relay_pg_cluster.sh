#!/bin/bash
# Three relay processes on one PostgreSQL behind HAProxy on loopback:
#  1. 50 concurrent creations of one message id, spread over the three,
#     make exactly one message;
#  2. a tus upload whose PATCHes alternate between processes;
#  3. long polls wake within a second on an upload (or a receipt) through
#     another process;
#  4. two homes sync through HAProxy while one relay is SIGKILLed in the
#     middle of uploads and downloads: every message arrives exactly once;
#  5. PostgreSQL restarted under the running relays: 503 with Retry-After,
#     then working again, long polls included, without restarting a relay;
#  6. rate limits count across processes; cleanup runs in one at a time.
JIASHU_TEST_DB=postgresql
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"
command -v haproxy >/dev/null || fail "haproxy is not installed (packaging/install-deps.sh installs it)"
export JIASHU_BACKOFF_MS=100,1000

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ms() { echo $(($(date +%s%N) / 1000000)); }

RELAY_DB_NAME=shared
# --- 0. the operator's commands ----------------------------------------------
pg_createdb shared
expect_error_matching "--check before --migrate" 'schema.*--migrate' "$JIASHU_RELAY" --db "$(pg_url shared)" --check
"$JIASHU_RELAY" --db "$(pg_url shared)" --migrate 2>"$SCRATCH/migrate" || fail "--migrate: $(cat "$SCRATCH/migrate")"
grep -q 'schema version [1-9]' "$SCRATCH/migrate" || fail "--migrate said: $(cat "$SCRATCH/migrate")"
"$JIASHU_RELAY" --db "$(pg_url shared)" --check 2>/dev/null || fail "--check after --migrate"
"$JIASHU_RELAY" --db "$(pg_url shared)" --migrate 2>/dev/null || fail "--migrate twice"
"$JIASHU_RELAY" --db "postgresql:///shared?host=$SCRATCH/nowhere" --check 2>"$SCRATCH/check" &&
  fail "--check of a database nobody serves succeeded"
grep -q 'cannot be reached' "$SCRATCH/check" || fail "--check of a database nobody serves said: $(cat "$SCRATCH/check")"
OPTS=(--token-rate 1000 --token-burst 1000 --join-rate 0.0001 --join-burst 8 --cleanup-interval 1)
declare -a PIDS PORTS
for n in 1 2 3; do
  start_relay "r$n" "${OPTS[@]}"
  PIDS[$n]=$RELAY_PID PORTS[$n]=$PORT
done
at() { BASE=http://127.0.0.1:${PORTS[$1]}; }

LB_PORT=$(free_port)
cat >"$SCRATCH/haproxy.cfg" <<EOF
global
  maxconn 2000
defaults
  mode http
  timeout connect 1s
  timeout client 90s
  timeout server 90s
  retries 3
  option redispatch
frontend relays
  bind 127.0.0.1:$LB_PORT
  default_backend relays
backend relays
  balance roundrobin
  option httpchk GET /healthz
  http-check expect status 200
  default-server inter 300ms fall 2 rise 1
  server r1 127.0.0.1:${PORTS[1]} check
  server r2 127.0.0.1:${PORTS[2]} check
  server r3 127.0.0.1:${PORTS[3]} check
EOF
haproxy -f "$SCRATCH/haproxy.cfg" -db >"$SCRATCH/haproxy.log" 2>&1 &
HAPROXY=$!
trap 'rc=$?; kill "$HAPROXY" 2>/dev/null; wait "$HAPROXY" 2>/dev/null || true; stop_relays || rc=1; pg_stop; cleanup_scratch; exit $rc' EXIT
LB=http://127.0.0.1:$LB_PORT
for _ in $(seq 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$LB/healthz")" = 200 ] && break
  sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$LB/healthz")" = 200 ] || fail "HAProxy does not reach the relays"

# --- 1. 50 concurrent creations of one message id --------------------------
at 1; new_family dad; DAD=$TOKEN
at 2; join "$CODE" grandma; MA=$TOKEN MA_ID=$DEVICE
head -c 60000 /dev/urandom >"$SCRATCH/audio"
MSG=$(uuid)
META=$(metadata "$MSG" "$MA_ID")
pids=()
for i in $(seq 50); do
  curl -s -o /dev/null -D "$SCRATCH/create.$i" -w '%{http_code}\n' -X POST \
    -H "Authorization: Bearer $DAD" -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 60000' \
    -H "Upload-Metadata: $META" -H 'Content-Type: application/offset+octet-stream' \
    --data-binary "@$SCRATCH/audio" "http://127.0.0.1:${PORTS[$((i % 3 + 1))]}/v1/uploads" \
    >"$SCRATCH/create.$i.status" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
[ "$(cat "$SCRATCH"/create.*.status | sort -u)" = 201 ] ||
  fail "concurrent creations answered $(cat "$SCRATCH"/create.*.status | sort | uniq -c | tr '\n' ' ')"
[ "$(cat "$SCRATCH"/create.[0-9]* | tr -d '\r' | sed -n 's/^[Ll]ocation: //p' | sort -u | wc -l)" = 1 ] ||
  fail "concurrent creations made more than one upload"
[ "$(pg_psql shared -c "SELECT count(*) FROM messages WHERE message_id = '$MSG'")" = 1 ] ||
  fail "concurrent creations made more than one message"
at 3; as "$MA" GET /v1/inbox
[ "$(json "[.messages[] | select(.message_id == \"$MSG\")] | length")" = 1 ] ||
  fail "the message is not in the inbox exactly once: $(cat "$SCRATCH/body")"
as "$MA" GET "/v1/messages/$MSG"
expect_status "the message created 50 times" 200
cmp -s "$SCRATCH/body" "$SCRATCH/audio" || fail "the message created 50 times has other bytes"
[ "$(pg_psql shared -c "SELECT bytes FROM families WHERE id = '$FAMILY'")" = 60000 ] ||
  fail "the family's bytes count the message more than once"

# --- 2. PATCHes alternating between processes -------------------------------
MSG2=$(uuid)
at 1; create_upload "$DAD" 60000 "$(metadata "$MSG2" "$MA_ID")"
expect_status "create on r1" 201
for k in 0 1 2; do
  head -c $(((k + 1) * 20000)) "$SCRATCH/audio" | tail -c 20000 >"$SCRATCH/part.$k"
  at $((k + 1)); patch "$DAD" "$UPLOAD" $((k * 20000)) "$SCRATCH/part.$k"
  expect_status "PATCH $k on r$((k + 1))" 204
done
at 2; as "$MA" GET "/v1/messages/$MSG2"
expect_status "a message uploaded through three relays" 200
cmp -s "$SCRATCH/body" "$SCRATCH/audio" || fail "bytes of a message uploaded through three relays"

# --- 3. long polls wake across processes ---------------------------------------
# long_poll RELAY TOKEN PATH OUT: a 20 s long poll in the background; writes
# its status and the time it ended (ms) into OUT.
long_poll() {
  (code=$(curl -s -o "$4.body" -w '%{http_code}' -m 30 -H "Authorization: Bearer $2" \
    "http://127.0.0.1:${PORTS[$1]}$3"); echo "$code $(ms)" >"$4") &
  POLL=$!
}
# waited OUT T0 WHAT: the poll ended with 200 within a second of T0.
waited() {
  wait "$POLL" || true
  local code end
  read -r code end <"$1"
  [ "$code" = 200 ] || fail "$3: long poll status $code"
  echo "$3: woke $((end - $2)) ms after the write"
  [ $((end - $2)) -lt 1000 ] || fail "$3: the long poll woke $((end - $2)) ms after the write"
}
# A long poll is held, not answered at once (so the wake is the write's).
held() {
  local i
  for i in $(seq 10); do
    [ -s "$1" ] && fail "the long poll ended before the write: $(cat "$1")"
    sleep 0.05
  done
}
at 1; as "$MA" GET /v1/inbox; CUR=$(json .cursor)
long_poll 1 "$MA" "/v1/inbox?after=$CUR&wait=20" "$SCRATCH/poll1"
held "$SCRATCH/poll1"
at 3; send "$DAD" "$MA_ID" "$SCRATCH/audio"; T0=$(ms)
waited "$SCRATCH/poll1" "$T0" "inbox on r1, upload through r3"
jq -e --arg m "$MSG" '.messages | map(.message_id) == [$m]' "$SCRATCH/poll1.body" >/dev/null ||
  fail "the woken long poll did not return just the new message: $(cat "$SCRATCH/poll1.body")"

at 2; as "$DAD" GET /v1/receipts; RCUR=$(json .cursor)
long_poll 2 "$DAD" "/v1/receipts?after=$RCUR&wait=20" "$SCRATCH/poll2"
held "$SCRATCH/poll2"
at 3; as "$MA" POST "/v1/messages/$MSG2/receipts" -H 'Content-Type: application/json' -d '{"state":"played"}'
T0=$(ms)
expect_status "receipt through r3" 204
waited "$SCRATCH/poll2" "$T0" "receipts on r2, receipt through r3"

# --- 4. two homes through HAProxy, one relay SIGKILLed -----------------------
PARENT=(--home "$SCRATCH/parent") CHILD=(--home "$SCRATCH/child")
"$JIASHU" "${PARENT[@]}" setup --relay "$LB" --name mama >/dev/null
code=$("$JIASHU" "${PARENT[@]}" family create) || fail "family create through HAProxy"
"$JIASHU" "${CHILD[@]}" setup --relay "$LB" --name nainai >/dev/null
"$JIASHU" "${CHILD[@]}" family join "$code" >/dev/null || fail "family join through HAProxy"
speech "$SCRATCH/speech.wav" 16000
for i in $(seq 6); do
  sox -q "$SCRATCH/speech.wav" "$SCRATCH/n$i.wav" trim "0.$i" 3
  "$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/n$i.wav" >>"$SCRATCH/sent.ids" || fail "record $i"
done
# syncs HOME: syncs until one succeeds (a sync cut by the kill fails).
syncs() {
  local i
  for i in $(seq 10); do "$JIASHU" "$@" sync >/dev/null 2>>"$SCRATCH/sync.err" && return 0; sleep 0.3; done
  fail "sync never succeeded: $(tail -3 "$SCRATCH/sync.err")"
}
syncs "${PARENT[@]}"
for i in $(seq 7 12); do
  sox -q "$SCRATCH/speech.wav" "$SCRATCH/n$i.wav" trim "0.$((i - 6))" 4
  "$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/n$i.wav" >>"$SCRATCH/sent.ids" || fail "record $i"
done
# The parent uploads the second half while the child downloads the first;
# r2 dies in the middle.
syncs "${PARENT[@]}" &
UP=$!
syncs "${CHILD[@]}" &
DOWN=$!
sleep 0.3
kill -KILL "${PIDS[2]}"
wait "${PIDS[2]}" 2>/dev/null || true
wait "$UP" || fail "the parent could not sync after the kill"
wait "$DOWN" || fail "the child could not sync after the kill"
syncs "${CHILD[@]}"
"$JIASHU" "${CHILD[@]}" inbox --json >"$SCRATCH/inbox.json"
[ "$(jq length "$SCRATCH/inbox.json")" = 12 ] ||
  fail "the child holds $(jq length "$SCRATCH/inbox.json") messages, not 12"
[ "$(jq -r '.[].id' "$SCRATCH/inbox.json" | sort)" = "$(sort "$SCRATCH/sent.ids")" ] ||
  fail "the child's messages are not the parent's"
for id in $(cat "$SCRATCH/sent.ids"); do
  "$JIASHU" "${PARENT[@]}" export "$id" "$SCRATCH/a.opus" && "$JIASHU" "${CHILD[@]}" export "$id" "$SCRATCH/b.opus" ||
    fail "export $id"
  cmp -s "$SCRATCH/a.opus" "$SCRATCH/b.opus" || fail "$id: the child's bytes differ"
done
[ "$(pg_psql shared -c "SELECT count(*) FROM mailbox b JOIN devices d ON d.id = b.device_id WHERE d.name = 'nainai'")" = 12 ] ||
  fail "the child's mailbox does not hold 12 rows"
echo "two homes through HAProxy, r2 SIGKILLed: 12 messages, each exactly once"
RELAY_LISTEN=127.0.0.1:${PORTS[2]} start_relay r2 "${OPTS[@]}"
PIDS[2]=$RELAY_PID

# --- 5. PostgreSQL restarted under the relays --------------------------------
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
PG_RUNNING=0
at 1; as "$MA" GET /v1/inbox
expect_status "a request while PostgreSQL is down" 503
[ -n "$(hdr retry-after)" ] || fail "503 without Retry-After"
req GET /healthz
expect_status "health while PostgreSQL is down" 503
pg_up
for _ in $(seq 100); do
  req GET /healthz
  [ "$STATUS" = 200 ] && break
  sleep 0.1
done
expect_status "health after PostgreSQL came back" 200
for n in 1 2 3; do
  at $n
  for _ in $(seq 30); do as "$MA" GET /v1/inbox; [ "$STATUS" = 200 ] && break; sleep 0.1; done
  expect_status "r$n after PostgreSQL came back" 200
done
# The listeners reconnected too: a long poll on r3 wakes on an upload via r1.
# A listener comes back up to half a second after its relay answers again,
# and wakes every long poll when it does (what was sent meanwhile is lost),
# so the poll starts once all three listen again.
for _ in $(seq 100); do
  [ "$(pg_psql shared -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'")" -ge 3 ] && break
  sleep 0.1
done
[ "$(pg_psql shared -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'")" -ge 3 ] ||
  fail "the relays' listeners did not come back after PostgreSQL did"
at 3; as "$MA" GET /v1/inbox
CUR=$(json .cursor)
long_poll 3 "$MA" "/v1/inbox?after=$CUR&wait=20" "$SCRATCH/poll3"
held "$SCRATCH/poll3"
at 1; send "$DAD" "$MA_ID" "$SCRATCH/audio"; T0=$(ms)
waited "$SCRATCH/poll3" "$T0" "inbox on r3 after the restart, upload through r1"

# --- 6. limits across processes, cleanup in one ------------------------------
# Families created from this address so far: dad and mama. The bucket holds
# 8: six more, on whichever relay, then 429 on every relay.
made=0
for i in $(seq 9); do
  at $((i % 3 + 1))
  req POST /v1/families -H 'Content-Type: application/json' -d '{"name":"x"}'
  [ "$STATUS" = 201 ] && made=$((made + 1))
  [ "$STATUS" = 429 ] && break
done
[ "$made" = 6 ] || fail "created $made families before 429, expected 6 (the bucket is not shared)"
for n in 1 2 3; do
  at $n; req POST /v1/families -H 'Content-Type: application/json' -d '{"name":"x"}'
  expect_status "family creation on r$n past the shared limit" 429
done
at 2; LATE=$(uuid); create_upload "$DAD" 5000 "$(metadata "$LATE" "$MA_ID")"
expect_status "a partial upload left to expire" 201
before=$(cat "$SCRATCH"/r?.log | grep -c 'expired uploads' || true)
pg_psql shared -c "UPDATE messages SET expires = 0 WHERE message_id = '$LATE'"
for _ in $(seq 100); do
  [ "$(pg_psql shared -c "SELECT count(*) FROM messages WHERE completed = 0")" = 0 ] && break
  sleep 0.1
done
[ "$(pg_psql shared -c "SELECT count(*) FROM messages WHERE completed = 0")" = 0 ] ||
  fail "the expired upload was not cleaned up"
# Not a wait for an event: what must not happen is a second relay logging
# the same upload, so each relay's cleanup (every 1 s) gets to run again.
sleep 1.5
after=$(cat "$SCRATCH"/r?.log | grep -c 'expired uploads' || true)
[ $((after - before)) = 1 ] ||
  fail "$((after - before)) cleanup lines for one expired upload: $(grep -h 'cleanup removed' "$SCRATCH"/r?.log)"
echo "relay on PostgreSQL behind HAProxy: ok"
