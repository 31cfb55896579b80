#!/bin/bash
# Messages of several upload chunks each across a 2G link: 20 kbit/s each
# way, 2 % of packets lost each way, and connections cut every half note.
# Each message must arrive exactly once, whole; every upload and every
# download must have been cut and resumed where it stopped (the parent's
# and the child's HTTP traces show it, request by request), and what is
# re-sent after each cut must be at most one chunk. SOAK=1: more notes.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
. "$TESTS_DIR/sync/netns_lib.sh"
netns_up
export JIASHU_BACKOFF_MS=200,4000

# 24 s at 16 kbit/s is about 48 KB: three 16 KiB chunks.
count=3 secs=24 rate=20kbit
[ "$SOAK" = 1 ] && count=10
shape "$rate"
lose 0.02

RELAY_HOST=$IP_R
start_relay_ns() {
  local log=$SCRATCH/relay.log
  ip netns exec "$NS_R" "$JIASHU_RELAY" --listen "$IP_R:0" --db "$SCRATCH/relay.db" --quiet 2>"$log" &
  RELAY_PID=$!
  SYNC_PIDS="$SYNC_PIDS $RELAY_PID"
  for _ in $(seq 100); do
    RELAY_PORT=$(sed -n 's/^jiashu-relay: listening on .*:\([0-9][0-9]*\)$/\1/p' "$log" | tail -1)
    [ -n "$RELAY_PORT" ] && break
    sleep 0.05
  done
  [ -n "$RELAY_PORT" ] || fail "the relay did not start: $(cat "$log")"
}
start_relay_ns
J() { ip netns exec "$NS_C" "$JIASHU" "$@"; }

# Pairing goes over the bad link too.
PARENT=(--home "$SCRATCH/parent")
CHILD=(--home "$SCRATCH/child")
url=http://$IP_R:$RELAY_PORT
J "${PARENT[@]}" setup --relay "$url" --name mama
code=$(J "${PARENT[@]}" family create) || fail "family create over 2G"
J "${CHILD[@]}" setup --relay "$url" --name nainai
J "${CHILD[@]}" family join "$code" || fail "family join over 2G"
# Pairing finishes with one sync of the inviter and one of the joiner
# (docs/encryption.md).
J "${PARENT[@]}" sync >/dev/null || fail "sync (parent, pairing) over 2G"
J "${CHILD[@]}" sync >/dev/null || fail "sync (child, pairing) over 2G"

note "$SCRATCH/n.wav" "$secs"
for i in $(seq "$count"); do
  "$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/n.wav" >>"$SCRATCH/ids" || fail "record $i"
done
size=$("$JIASHU" "${PARENT[@]}" outbox --json | jq '[.[].bytes] | min')
total=$("$JIASHU" "${PARENT[@]}" outbox --json | jq '[.[].bytes] | add')
echo "$count notes of $secs s, $size bytes at least, $total in all"
[ "$size" -gt $((2 * 16384)) ] || fail "a note of $size bytes is not several 16 KiB chunks"

# A cut every third of a note each way: whatever the lost packets and
# the headers add, every transfer (a note's bytes) spans at least one cut.
# Up: the relay keeps what arrived of a cut request and the client resumes
# after it; down: Range resumes where the cut fell.
start_cutter "$RELAY_PORT" $(( size / 3 )) $(( size / 3 ))

# The child waits in --watch while the parent sends: both directions busy.
ip netns exec "$NS_C" env JIASHU_HTTP_TRACE=1 "$JIASHU" "${CHILD[@]}" sync --watch --json >"$SCRATCH/watch" 2>"$SCRATCH/child.trace" &
watcher=$!
SYNC_PIDS="$SYNC_PIDS $watcher"
start=$(date +%s)
ip netns exec "$NS_C" env JIASHU_HTTP_TRACE=1 "$JIASHU" "${PARENT[@]}" sync --json >"$SCRATCH/parent.json" 2>"$SCRATCH/parent.trace" ||
  fail "the parent's sync failed over 2G: $(grep -v '^[<>*]' "$SCRATCH/parent.trace")"
up_s=$(( $(date +%s) - start ))
for _ in $(seq 600); do
  n=$("$JIASHU" "${CHILD[@]}" inbox --json | jq '[.[] | select(.state == "ready")] | length')
  [ "$n" = "$count" ] && break
  sleep 0.5
done
[ "$n" = "$count" ] || fail "$n of $count messages ready on the child after 300 s"
all_s=$(( $(date +%s) - start ))
kill -9 "$CUTTER_PID" "$watcher" 2>/dev/null || true

inbox=$("$JIASHU" "${CHILD[@]}" inbox --json)
[ "$(echo "$inbox" | jq length)" = "$count" ] || fail "the child holds $(echo "$inbox" | jq length) messages, not $count"
[ "$(echo "$inbox" | jq '[.[].id] | unique | length')" = "$count" ] || fail "duplicates on the child"
[ "$(echo "$inbox" | jq '[.[] | select(.state == "ready")] | length')" = "$count" ] || fail "not every message is ready"
for id in $(cat "$SCRATCH/ids"); do
  "$JIASHU" "${PARENT[@]}" export "$id" "$SCRATCH/a.opus" || fail "export $id (parent)"
  "$JIASHU" "${CHILD[@]}" export "$id" "$SCRATCH/b.opus" || fail "$id did not arrive"
  cmp -s "$SCRATCH/a.opus" "$SCRATCH/b.opus" || fail "$id arrived damaged"
done

cuts_up=$(cat "$SCRATCH/cuts.up") cuts_down=$(cat "$SCRATCH/cuts.down")
done_line=$(tail -1 "$SCRATCH/parent.json")
resent=$(echo "$done_line" | jq .bytes_resent)
echo "2G: $count messages in ${all_s}s (parent's sync ${up_s}s); cuts: $cuts_up up, $cuts_down down; parent: $done_line"
# No upload restarted from zero: in the parent's trace, the offsets an
# upload's PATCHes start from never go back. (Requests on one handle follow
# each other, so an answer belongs to the request before it.)
awk '/^> [A-Z]+ [^ ]+ HTTP\// { inpatch = ""; ids_seen = 1
                                if ($2 == "PATCH") { inpatch = $3; sub(/.*\//, "", inpatch); ids[inpatch] = 1 }
                                next }
     /^> Upload-Offset: / { if (inpatch != "") { off = $3 + 0
                              if (off < last[inpatch]) back++
                              last[inpatch] = off } }
     /^[<*]/ { inpatch = "" }
     /^< Location: / { l = $3; sub(/\r$/, "", l); sub(/.*\//, "", l); ids[l] = 1 }
     END { for (i in ids) n++
           printf "%d %d\n", n, back + 0 }' "$SCRATCH/parent.trace" >"$SCRATCH/up.count"
read -r uploads backwards <"$SCRATCH/up.count"
[ "$backwards" = 0 ] || fail "$backwards PATCHes went back to an earlier offset of their upload"
[ "$uploads" = "$count" ] || fail "the parent's trace shows $uploads uploads, not $count"
# The transfers were cut: each "sent" (parent) and "received" (child) event
# counts the cuts that transfer survived. The cutter aims by bytes seen a
# tenth of a second late, so one transfer each way may slip through whole.
sent=$(jq -s '[.[] | select(.event == "sent")] | length' "$SCRATCH/parent.json")
[ "$sent" = "$count" ] || fail "the parent reported $sent notes sent, not $count"
uncut=$(jq -s '[.[] | select(.event == "sent" and .interruptions < 1)] | length' "$SCRATCH/parent.json")
[ "$uncut" -le 1 ] || fail "$uncut of $count uploads were never cut: $(grep '"sent"' "$SCRATCH/parent.json")"
uncut=$(jq -s '[.[] | select(.event == "received" and .interruptions < 1)] | length' "$SCRATCH/watch")
[ "$uncut" -le 1 ] || fail "$uncut of $count downloads were never cut: $(grep '"received"' "$SCRATCH/watch")"
# Every download cut after its first body bytes resumes with a Range from
# past 0. A cut that falls in a GET's headers rightly starts again from 0,
# and the cutter cannot aim between the two, so one download may show none.
resumed=0
for id in $(cat "$SCRATCH/ids"); do
  awk -v get="> GET /v1/messages/$id " 'index($0, get) == 1 { on = 1; next }
       /^> [A-Z]+ [^ ]+ HTTP\// || /^[<*]/ { on = 0 }
       on && /^> Range: bytes=[1-9][0-9]*-/ { found = 1 } END { exit !found }' "$SCRATCH/child.trace" &&
    resumed=$((resumed + 1))
done
[ "$resumed" -ge $((count - 1)) ] ||
  fail "only $resumed of $count downloads were cut and resumed with a Range"
largest=$(echo "$done_line" | jq .largest_chunk)
# Every connection after the first replaced one that was lost: the cutter's
# cuts and any the lossy link caused itself.
lost=$(( $(echo "$done_line" | jq .connections) - 1 ))
[ "$lost" -ge $((count / 2)) ] || fail "the parent lost only $lost connections"
[ "$lost" -ge "$cuts_up" ] || lost=$cuts_up # a cut may also fall after the parent's last request
[ "$resent" -le $((lost * largest)) ] || fail "re-sent $resent bytes for $lost lost connections: more than one chunk ($largest) per cut"

# A dead link is told from a slow one: with a 2 s connect time-out and
# "dead below 50 bytes/s for 4 s", a blackholed relay ends the sync with one
# line, while the 20 kbit/s link itself passes under the same settings.
export JIASHU_NET_TIMEOUTS=2,50,4 JIASHU_BACKOFF_MS=100,500
note "$SCRATCH/dead.wav" 6
id=$("$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/dead.wav")
ip netns exec "$NS_C" "$JIASHU" "${PARENT[@]}" sync --json >"$SCRATCH/dead.json" 2>"$SCRATCH/dead.err" &
syncer=$!
SYNC_PIDS="$SYNC_PIDS $syncer"
# The link dies in the middle of the upload (6 s of audio take 5 s at
# 20 kbit/s): once the sync reports some of its bytes sent.
upload_under_way() {
  jq -c --arg id "$id" 'select(.event == "upload_progress" and .id == $id and .done > 0)' \
    "$SCRATCH/dead.json" 2>/dev/null | grep -q .
}
wait_until 60 "the sync did not report any byte of the note sent over the 2G link" upload_under_way
ip netns exec "$NS_R" iptables -I INPUT 1 -j DROP
start=$(date +%s)
rc=0; wait "$syncer" || rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" -ne 0 ] || fail "a sync over a dead link succeeded"
[ "$(wc -l <"$SCRATCH/dead.err")" = 1 ] || fail "a dead link should give one line: $(cat "$SCRATCH/dead.err")"
echo "dead link: gave up after ${took}s: $(cat "$SCRATCH/dead.err")"
"$JIASHU" "${PARENT[@]}" outbox --json | jq -e ".[] | select(.id == \"$id\") | .state == \"ready\" or .state == \"uploading\"" >/dev/null ||
  fail "the message left the outbox over a dead link"
ip netns exec "$NS_R" iptables -D INPUT 1
J "${PARENT[@]}" sync >/dev/null || fail "the slow link was taken for a dead one"
J "${CHILD[@]}" sync >/dev/null || fail "child sync after the dead link"
"$JIASHU" "${CHILD[@]}" export "$id" "$SCRATCH/dead.opus" || fail "the message sent after the dead link did not arrive"
echo ok
