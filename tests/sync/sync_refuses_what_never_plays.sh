#!/bin/bash
# Messages that can never play leave the download queue: bytes that are not
# a voice note are fetched at most 3 times, then refused for good (inbox
# says so, the relay gets a "rejected" receipt); a message the relay
# answers 404 for twice is dropped. Before, both were fetched at every
# sync, for ever (4 syncs, 4 downloads).
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
need_node

start_relay relay
direct=http://127.0.0.1:$RELAY_PORT
start_proxy "$RELAY_PORT"
# The child joins plain (no end-to-end encryption) with a relay invite:
# the relay's bytes go to its store as they are, as in a family that has
# not upgraded yet. (Sealed notes that do not open are refused at once.)
PARENT=(--home "$SCRATCH/parent")
CHILD=(--home "$SCRATCH/child")
"$JIASHU" "${PARENT[@]}" setup --relay "$PROXY_URL" --name mama >/dev/null || fail "setup (parent)"
"$JIASHU" "${PARENT[@]}" family create >/dev/null || fail "family create"
setting() { sqlite3 "$SCRATCH/$1/jiashu.db" "SELECT value FROM settings WHERE key = '$2'"; }
token=$(setting parent device_token)
code=$(curl -sf -X POST -H "Authorization: Bearer $token" "$direct/v1/invites" | jq -r .code) ||
  fail "a relay invite"
"$JIASHU" "${CHILD[@]}" setup --relay "$PROXY_URL" --name nainai >/dev/null || fail "setup (child)"
"$JIASHU" "${CHILD[@]}" family join --plain "$code" >/dev/null || fail "family join --plain"
child_id=$(setting child device_id)
[ ${#token} = 64 ] && [ ${#child_id} = 32 ] || fail "no token or device id in the stores"

# send_raw FILE: the parent's device sends FILE's bytes as a message; sets MSG.
send_raw() {
  MSG=$(cat /proc/sys/kernel/random/uuid)
  local md
  md="message_id $(printf %s "$MSG" | base64 -w0),recipients $(printf %s "$child_id" | base64 -w0),duration_ms $(printf 2000 | base64 -w0)"
  curl -sf -o /dev/null -X POST -H "Authorization: Bearer $token" -H 'Tus-Resumable: 1.0.0' \
    -H "Upload-Length: $(stat -c %s "$1")" -H "Upload-Metadata: $md" \
    -H 'Content-Type: application/offset+octet-stream' --data-binary "@$1" "$direct/v1/uploads" ||
    fail "sending raw bytes to the relay"
}
# downloads_of ID FILES...: download_start events for ID in the sync logs.
downloads_of() { local id=$1; shift; cat "$@" | jq -c "select(.event == \"download_start\" and .id == \"$id\")" | wc -l; }

# --- bytes that are not a voice note ------------------------------------
head -c 40000 /dev/urandom >"$SCRATCH/noise"
send_raw "$SCRATCH/noise"; bad=$MSG
for i in 1 2 3 4; do
  "$JIASHU" "${CHILD[@]}" sync --json >"$SCRATCH/bad$i.json" 2>>"$SCRATCH/bad.err" || true
done
n=$(downloads_of "$bad" "$SCRATCH"/bad[1-4].json)
echo "4 syncs downloaded the noise $n times"
[ "$n" -le 3 ] || fail "4 syncs downloaded bytes that are not a voice note $n times, expected at most 3"
[ "$n" -ge 1 ] || fail "the noise was never downloaded"
state=$("$JIASHU" "${CHILD[@]}" inbox --json | jq -r ".[] | select(.id == \"$bad\") | .state")
[ "$state" = refused ] || fail "the noise is '$state' in the inbox, expected refused"
"$JIASHU" "${CHILD[@]}" inbox | grep "$bad" | grep -q 'refused (unplayable)' ||
  fail "the inbox does not show the noise as unplayable: $("$JIASHU" "${CHILD[@]}" inbox)"
"$JIASHU" "${CHILD[@]}" sync --json >"$SCRATCH/bad5.json" || fail "a sync after the refusal exited non-zero"
[ "$(downloads_of "$bad" "$SCRATCH/bad5.json")" = 0 ] || fail "a refused message was fetched again"
state=$(curl -sf -H "Authorization: Bearer $token" "$direct/v1/receipts" |
  jq -r ".receipts[] | select(.message_id == \"$bad\") | .state")
[ "$state" = rejected ] || fail "the relay holds receipt '$state' for the noise, expected rejected"

# --- a message the relay answers 404 for --------------------------------
head -c 30000 /dev/urandom >"$SCRATCH/more"
send_raw "$SCRATCH/more"; gone=$MSG
fault "{\"fail\":[{\"status\":404,\"count\":100,\"method\":\"GET\",\"path\":\"/v1/messages/$gone\"}]}"
for i in 1 2 3 4; do
  "$JIASHU" "${CHILD[@]}" sync --json >"$SCRATCH/gone$i.json" 2>>"$SCRATCH/gone.err" || true
done
n=$(downloads_of "$gone" "$SCRATCH"/gone[1-4].json)
echo "4 syncs asked for the message the relay does not have $n times"
[ "$n" = 2 ] || fail "a message the relay answers 404 for was asked for $n times in 4 syncs, expected 2"
[ -z "$("$JIASHU" "${CHILD[@]}" inbox --json | jq -r ".[] | select(.id == \"$gone\") | .id")" ] ||
  fail "the message the relay does not have stays in the inbox"
fault '{}'
"$JIASHU" "${CHILD[@]}" sync >/dev/null || fail "a sync with nothing left to fetch exited non-zero"
