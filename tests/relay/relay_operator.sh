#!/bin/bash
# What an operator types, taken as they mean it: a name in --listen, sizes
# and durations with units (2M, 7d), a configuration file (the one the
# Debian package installs), and a --db whose folder is missing.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

# --- --listen takes a name ------------------------------------------------
start_relay named
stop_relays
"$JIASHU_RELAY" --listen localhost:0 --db "$SCRATCH/named.db" 2>"$SCRATCH/named.log" &
RELAY_PID=$!; RELAY_PIDS="$RELAY_PIDS $RELAY_PID"
for i in $(seq 100); do
  grep -q 'listening on' "$SCRATCH/named.log" && break
  kill -0 "$RELAY_PID" 2>/dev/null || { cat "$SCRATCH/named.log" >&2; fail "--listen localhost:0 did not start"; }
  sleep 0.05
done
grep -Eq 'listening on (127\.0\.0\.1|\[::1\]):[0-9]+$' "$SCRATCH/named.log" ||
  fail "localhost was not bound to a loopback address: $(cat "$SCRATCH/named.log")"
stop_relays
expect_error_matching "an unknown name" "'no-such-host\.invalid' is neither an address nor a name" \
  "$JIASHU_RELAY" --listen no-such-host.invalid:0 --db "$SCRATCH/x.db"

# --- a missing folder is named as such, and nothing is created -------------
expect_error_matching "--db in a missing folder" "folder $SCRATCH/missing/deeper does not exist" \
  "$JIASHU_RELAY" --listen 127.0.0.1:0 --db "$SCRATCH/missing/deeper/relay.db"
[ ! -e "$SCRATCH/missing" ] || fail "a missing folder was created"

# --- units: sizes and durations --------------------------------------------
for bad in "--max-message-bytes 2Q" "--max-message-bytes 2d" "--retention 7M" "--retention 7dd" \
           "--max-wait -1s" "--max-mailbox 1K" "--max-family-bytes 2000T"; do
  # shellcheck disable=SC2086
  expect_error_matching "$bad" "^jiashu-relay: ${bad%% *} wants a non-negative number" \
    "$JIASHU_RELAY" --listen 127.0.0.1:0 --db "$SCRATCH/x.db" $bad
done
# 1K is 1024 bytes: a message of 1024 is taken, one of 1025 refused.
start_relay units --max-message-bytes 1K --max-wait 1s --retention 7d --max-age 30d \
  --upload-ttl 1h --invite-ttl 90m --cleanup-interval 1m --max-family-bytes 256MiB
new_family dad; DAD=$TOKEN
join "$CODE" grandma; MA=$TOKEN MA_ID=$DEVICE
create_upload "$DAD" 1024 "$(metadata "$(uuid)" "$MA_ID")"
expect_status "a 1024-byte message under --max-message-bytes 1K" 201
create_upload "$DAD" 1025 "$(metadata "$(uuid)" "$MA_ID")"
expect_error "a 1025-byte message under --max-message-bytes 1K" 413 too_large
# --max-wait 1s: a long poll asking for 20 s is answered after about one.
T0=$(date +%s)
as "$MA" GET "/v1/inbox?wait=20"
expect_status "a long poll under --max-wait 1s" 200
[ $(($(date +%s) - T0)) -lt 15 ] || fail "--max-wait 1s did not shorten a 20 s long poll"

# --- a configuration file ---------------------------------------------------
cat >"$SCRATCH/relay.conf" <<CONF
# comments and blank lines are ignored

listen = 127.0.0.1:0      # an address or a name
db $SCRATCH/conf.db
max-message-bytes 1K
quiet
CONF
"$JIASHU_RELAY" --config "$SCRATCH/relay.conf" --max-wait 1s 2>"$SCRATCH/conf.log" &
RELAY_PID=$!; RELAY_PIDS="$RELAY_PIDS $RELAY_PID"
PORT=""
for i in $(seq 100); do
  PORT=$(sed -n 's/^jiashu-relay: listening on .*:\([0-9][0-9]*\)$/\1/p' "$SCRATCH/conf.log")
  [ -n "$PORT" ] && break
  kill -0 "$RELAY_PID" 2>/dev/null || { cat "$SCRATCH/conf.log" >&2; fail "the configured relay did not start"; }
  sleep 0.05
done
[ -n "$PORT" ] || fail "the configured relay did not say its port"
BASE=http://127.0.0.1:$PORT
new_family dad; DAD=$TOKEN
join "$CODE" grandma; MA_ID=$DEVICE
[ -s "$SCRATCH/conf.db" ] || fail "the database named in the configuration was not used"
create_upload "$DAD" 1025 "$(metadata "$(uuid)" "$MA_ID")"
expect_error "max-message-bytes from the configuration" 413 too_large
[ "$(grep -c . "$SCRATCH/conf.log")" = 1 ] || fail "quiet from the configuration: $(cat "$SCRATCH/conf.log")"
# The command line wins over the file.
stop_relays
printf 'listen 127.0.0.1:0\ndb %s\nretention soon\n' "$SCRATCH/c.db" >"$SCRATCH/bad.conf"
expect_error_matching "a bad value in the file names the file" "^jiashu-relay: $SCRATCH/bad.conf: --retention wants" \
  "$JIASHU_RELAY" --config "$SCRATCH/bad.conf"
printf 'listen 127.0.0.1:0\nfrobnicate 3\n' >"$SCRATCH/bad.conf"
expect_error_matching "an unknown key in the file" "bad.conf: unknown or incomplete option '--frobnicate'" \
  "$JIASHU_RELAY" --config "$SCRATCH/bad.conf"
expect_error_matching "a missing configuration" "cannot read the configuration $SCRATCH/none.conf" \
  "$JIASHU_RELAY" --config "$SCRATCH/none.conf"
echo "relay operator settings: ok"
