# Helpers for the relay's shell tests: start a relay on a free port, talk to
# it with curl, and always stop it at the end. Source after tests/lib.sh.
#
# JIASHU_TEST_DB picks the relay's storage: sqlite (the default: a file per
# relay name) or postgresql (a database per relay name in a throwaway
# cluster of the test's own, tests/relay/pg_lib.sh). The same tests run on
# either.
JIASHU_TEST_DB=${JIASHU_TEST_DB:-sqlite}
case $JIASHU_TEST_DB in
  sqlite) pg_stop() { :; } ;;
  postgresql) . "$TESTS_DIR/relay/pg_lib.sh" ;;
  *) fail "JIASHU_TEST_DB is sqlite or postgresql, not '$JIASHU_TEST_DB'" ;;
esac

# relay_db NAME: sets RELAY_DB_ARG to the --db argument of relay NAME, making
# the database when it needs making. With RELAY_DB_NAME set, every relay
# shares that PostgreSQL database.
relay_db() {
  if [ "$JIASHU_TEST_DB" = postgresql ]; then
    pg_createdb "${RELAY_DB_NAME:-$1}"
    RELAY_DB_ARG=$(pg_url "${RELAY_DB_NAME:-$1}")
  else
    RELAY_DB_ARG=$SCRATCH/$1.db
  fi
}

RELAY_PIDS=""
# Stops every relay started; a relay that exits badly on SIGTERM, or a
# sanitizer report in any relay log, fails the test.
stop_relays() {
  local p rc bad=0
  for p in $RELAY_PIDS; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $RELAY_PIDS; do
    rc=0; wait "$p" 2>/dev/null || rc=$?
    case $rc in 0|127|137) ;; *) echo "FAIL: relay $p exited with status $rc" >&2; bad=1 ;; esac
  done
  RELAY_PIDS=""
  if grep -l -E 'Sanitizer|runtime error' "$SCRATCH"/*.log 2>/dev/null; then
    grep -h -E -A20 'Sanitizer|runtime error' "$SCRATCH"/*.log >&2
    bad=1
  fi
  return $bad
}
trap 'rc=$?; stop_relays || rc=1; pg_stop; cleanup_scratch; exit $rc' EXIT

# start_relay NAME [OPTIONS...]: a relay with its database (relay_db NAME,
# or $RELAY_DB when set) and log $SCRATCH/NAME.log, on RELAY_LISTEN (default
# a free port of 127.0.0.1); sets RELAY_PID, PORT and BASE.
start_relay() {
  local name=$1; shift
  local log=$SCRATCH/$name.log
  : >"$log"
  relay_db "$name"
  "$JIASHU_RELAY" --listen "${RELAY_LISTEN:-127.0.0.1:0}" --db "${RELAY_DB:-$RELAY_DB_ARG}" "$@" 2>>"$log" &
  RELAY_PID=$!
  RELAY_PIDS="$RELAY_PIDS $RELAY_PID"
  local i
  for i in $(seq 100); do
    PORT=$(sed -n -e 's/^jiashu-relay: listening on .*:\([0-9][0-9]*\)$/\1/p' \
      -e 's/.*"msg":"listening on .*:\([0-9][0-9]*\)"}$/\1/p' "$log" | tail -1)
    [ -n "$PORT" ] && break
    kill -0 "$RELAY_PID" 2>/dev/null || { cat "$log" >&2; fail "relay $name did not start"; }
    sleep 0.05
  done
  [ -n "$PORT" ] || fail "relay $name did not say its port"
  BASE=http://127.0.0.1:$PORT
}

# req METHOD PATH [CURL ARGS...]: sets STATUS; body in $SCRATCH/body,
# headers in $SCRATCH/headers.
req() {
  local method=$1 path=$2; shift 2
  local m=(-X "$method")
  [ "$method" = HEAD ] && m=(-I)
  STATUS=$(curl -s -o "$SCRATCH/body" -D "$SCRATCH/headers" -w '%{http_code}' \
    "${m[@]}" "$@" "$BASE$path") || STATUS=000
}

# as TOKEN METHOD PATH [CURL ARGS...]: req with the device token.
as() {
  local token=$1; shift
  local method=$1 path=$2; shift 2
  req "$method" "$path" -H "Authorization: Bearer $token" "$@"
}

expect_status() {
  local what=$1 want=$2
  [ "$STATUS" = "$want" ] || { cat "$SCRATCH/body" >&2; echo >&2; fail "$what: status $STATUS, expected $want"; }
}

# expect_error WHAT STATUS CODE: status and the JSON error code.
expect_error() {
  expect_status "$1" "$2"
  local code
  code=$(jq -r '.error.code' <"$SCRATCH/body" 2>/dev/null) || fail "$1: body is not JSON: $(cat "$SCRATCH/body")"
  [ "$code" = "$3" ] || fail "$1: error code '$code', expected '$3'"
  jq -e '.error.message | length > 0' <"$SCRATCH/body" >/dev/null || fail "$1: no error message"
}

json() { jq -r "$1" <"$SCRATCH/body"; }
hdr() { tr -d '\r' <"$SCRATCH/headers" | sed -n "s/^$1: //Ip" | tail -1; }

# new_family NAME: creates a family; sets TOKEN, DEVICE, FAMILY, CODE.
new_family() {
  req POST /v1/families -H 'Content-Type: application/json' -d "{\"name\":\"$1\"}"
  expect_status "create family $1" 201
  TOKEN=$(json .token); DEVICE=$(json .device_id); FAMILY=$(json .family_id); CODE=$(json .invite.code)
}

# join CODE NAME: sets TOKEN, DEVICE.
join() {
  req POST /v1/join -H 'Content-Type: application/json' -d "{\"code\":\"$1\",\"name\":\"$2\"}"
  expect_status "join as $2" 201
  TOKEN=$(json .token); DEVICE=$(json .device_id)
}

b64() { printf '%s' "$1" | base64 -w0; }
uuid() { cat /proc/sys/kernel/random/uuid; }

# metadata MESSAGE_ID RECIPIENTS [DURATION_MS]
metadata() { echo "message_id $(b64 "$1"),recipients $(b64 "$2"),duration_ms $(b64 "${3:-4000}")"; }

# create_upload TOKEN LENGTH METADATA: sets STATUS and UPLOAD (the Location path).
create_upload() {
  as "$1" POST /v1/uploads -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $2" -H "Upload-Metadata: $3"
  UPLOAD=$(hdr location)
}

# patch TOKEN UPLOAD OFFSET FILE [CURL ARGS...]
patch() {
  local token=$1 upload=$2 offset=$3 file=$4; shift 4
  as "$token" PATCH "$upload" -H 'Tus-Resumable: 1.0.0' -H "Upload-Offset: $offset" \
    -H 'Content-Type: application/offset+octet-stream' --data-binary "@$file" "$@"
}

# Hex to bytes and random hex with coreutils only.
unhex() { printf "$(sed 's/../\\x&/g')"; }
random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
sha1_b64() { sha1sum "$1" | cut -d' ' -f1 | unhex | base64 -w0; }
sha256_b64() { sha256sum "$1" | cut -d' ' -f1 | unhex | base64 -w0; }

# send TOKEN RECIPIENTS FILE: a whole message in one creation and one PATCH; sets MSG.
send() {
  MSG=$(uuid)
  create_upload "$1" "$(stat -c %s "$3")" "$(metadata "$MSG" "$2")"
  expect_status "create upload" 201
  patch "$1" "$UPLOAD" 0 "$3"
  expect_status "upload bytes" 204
}

# flip_stored_byte NAME MESSAGE_ID OFFSET: changes one stored byte of a
# message behind the relay's back, in whichever database relay NAME uses.
flip_stored_byte() {
  if [ "$JIASHU_TEST_DB" = postgresql ]; then
    [ "$(pg_psql "${RELAY_DB_NAME:-$1}" -c "UPDATE chunks c SET data = overlay(c.data PLACING
        (CASE WHEN get_byte(c.data, $3 - c.off::int) = 0 THEN '\\x01' ELSE '\\x00' END)::bytea
        FROM $3 - c.off::int + 1 FOR 1) FROM messages m WHERE m.id = c.message
        AND m.message_id = '$2' AND c.off <= $3 AND c.off + octet_length(c.data) > $3
        RETURNING 1")" = 1 ]
  else
    sqlite3 "$SCRATCH/$1.db" ".timeout 5000" \
      "UPDATE messages SET data = substr(data, 1, $3) || (CASE WHEN substr(data, $3 + 1, 1) = x'00' THEN x'01' ELSE x'00' END) || substr(data, $3 + 2) WHERE message_id = '$2'"
  fi
}

relay_alive() {
  kill -0 "$RELAY_PID" 2>/dev/null || fail "the relay died: $(tail -5 "$SCRATCH/$1.log")"
}
