#!/bin/bash
# The program: --help, --version, usage errors in one line; SIGTERM stops it
# cleanly with nothing lost; retention and cleanup remove what they should.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

"$JIASHU_RELAY" --help | grep -q -- '--listen HOST:PORT --db PATH' || fail "--help"
"$JIASHU_RELAY" --version | grep -Eq '^jiashu-relay [0-9]+\.[0-9]+' || fail "--version"
expect_error_matching "no arguments" 'required' "$JIASHU_RELAY"
expect_error_matching "bad listen" 'HOST:PORT' "$JIASHU_RELAY" --listen nowhere --db "$SCRATCH/x.db"
expect_error_matching "bad number" 'number' "$JIASHU_RELAY" --listen 127.0.0.1:0 --db "$SCRATCH/x.db" --max-wait soon
expect_error_matching "unknown option" 'unknown' "$JIASHU_RELAY" --frobnicate
expect_error_matching "not a database" 'database' "$JIASHU_RELAY" --listen 127.0.0.1:0 --db /proc/version
start_relay busy
expect_error_matching "port in use" 'listen' "$JIASHU_RELAY" --listen "127.0.0.1:$PORT" --db "$SCRATCH/y.db"

# --- SIGTERM: long polls answered, acknowledged messages kept ---------------
start_relay term
new_family dad; DAD=$TOKEN
join "$CODE" grandma; MA=$TOKEN MA_ID=$DEVICE
head -c 3000 /dev/urandom >"$SCRATCH/audio"
send "$DAD" "$MA_ID" "$SCRATCH/audio"
as "$MA" GET /v1/inbox
CUR=$(json .cursor)
(curl -s -m 30 -o "$SCRATCH/poll" -w '%{http_code}' -H "Authorization: Bearer $MA" \
  "$BASE/v1/inbox?after=$CUR&wait=25" >"$SCRATCH/poll.status") &
POLL=$!
sleep 0.5
T0=$(date +%s%N)
kill -TERM "$RELAY_PID"
rc=0; wait "$RELAY_PID" || rc=$?
T1=$(date +%s%N)
[ "$rc" = 0 ] || fail "SIGTERM: exit status $rc"
[ $(((T1 - T0) / 1000000)) -lt 8000 ] || fail "SIGTERM took $(((T1 - T0) / 1000000)) ms"
grep -q 'stopped on signal 15' "$SCRATCH/term.log" || fail "no stop line"
wait "$POLL" || true
[ "$(cat "$SCRATCH/poll.status")" = 200 ] || fail "the waiting long poll got $(cat "$SCRATCH/poll.status") at shutdown"
relay_db term
"$JIASHU_RELAY" --listen 127.0.0.1:0 --db "$RELAY_DB_ARG" 2>>"$SCRATCH/term.log" &
RELAY_PID=$!; RELAY_PIDS="$RELAY_PIDS $RELAY_PID"
for i in $(seq 100); do
  PORT=$(sed -n 's/^jiashu-relay: listening on .*:\([0-9][0-9]*\)$/\1/p' "$SCRATCH/term.log" | tail -1)
  [ -n "$PORT" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
  sleep 0.05
done
BASE=http://127.0.0.1:$PORT
as "$MA" GET "/v1/messages/$MSG"
expect_status "the message after a restart" 200
cmp -s "$SCRATCH/body" "$SCRATCH/audio" || fail "bytes after a restart"

# --- a long poll outlives the idle time-out ------------------------------
start_relay idle --idle-timeout 1
new_family dad
T0=$(date +%s%N)
as "$TOKEN" GET "/v1/inbox?wait=3"
expect_status "a 3 s long poll with a 1 s idle time-out" 200
[ $(( ($(date +%s%N) - T0) / 1000000 )) -ge 2900 ] || fail "the long poll ended before its wait"

# --- retention and cleanup ----------------------------------------------
start_relay clean --cleanup-interval 1 --retention 2 --upload-ttl 1
new_family dad; DAD=$TOKEN
join "$CODE" grandma; MA=$TOKEN MA_ID=$DEVICE
as "$DAD" POST /v1/invites; join "$(json .code)" kid; KID=$TOKEN KID_ID=$DEVICE
send "$DAD" "$MA_ID,$KID_ID" "$SCRATCH/audio"
create_upload "$DAD" 5000 "$(metadata "$(uuid)" "$MA_ID")"; PARTIAL=$UPLOAD
cleaned_upload() { grep -q 'cleanup removed 1 expired uploads' "$SCRATCH/clean.log"; }
wait_until 15 "the cleanup did not remove the partial upload past its 1 s time-to-live" cleaned_upload
as "$DAD" HEAD "$PARTIAL" -H 'Tus-Resumable: 1.0.0'
expect_status "an expired partial upload after cleanup" 404
as "$MA" GET "/v1/messages/$MSG"
expect_status "an undelivered message survives cleanup" 200
# A second message, to grandma alone, marks the time: once every recipient
# of it has had it, it goes after the retention, at the same cleanup as the
# first would if the child's missing receipt were not counted. Grandma's
# receipt for the first comes first, so the first is never the later one.
MSG1=$MSG
send "$DAD" "$MA_ID" "$SCRATCH/audio"; ALONE=$MSG MSG=$MSG1
as "$MA" POST "/v1/messages/$MSG/receipts" -H 'Content-Type: application/json' -d '{"state":"played"}'
expect_status "grandma's receipt" 204
as "$MA" POST "/v1/messages/$ALONE/receipts" -H 'Content-Type: application/json' -d '{"state":"played"}'
expect_status "grandma's receipt for her own message" 204
gone() { as "$1" GET "/v1/messages/$2"; [ "$STATUS" = 404 ]; }
wait_until 20 "the message grandma alone had was not removed after the 2 s retention" gone "$MA" "$ALONE"
as "$KID" GET "/v1/messages/$MSG"
expect_status "kept while one recipient has not confirmed" 200
as "$KID" POST "/v1/messages/$MSG/receipts" -H 'Content-Type: application/json' -d '{"state":"delivered"}'
expect_status "the child's receipt" 204
wait_until 20 "the message was not removed after every recipient had it plus retention" gone "$KID" "$MSG"
expect_error "removed after every recipient had it plus retention" 404 not_found
as "$MA" GET /v1/inbox
[ "$(json '.messages | length')" = 0 ] || fail "the inbox still lists a removed message"
grep -q 'cleanup removed 1 expired uploads' "$SCRATCH/clean.log" || fail "no cleanup line for the upload"
echo "relay lifecycle: ok"
