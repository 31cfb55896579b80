#!/bin/bash
# Data that can be counted: each side talks to the relay through its own
# byte-counting TCP front (a capture, independent of the client), and what
# the client booked (per message in inbox/outbox --json, per member in
# `jiashu data --json`) must add up to what crossed the wire, within 1 %.
# Then the monthly budget: past it a large note waits (one line says so),
# a small note and the receipts still move, playing the held note by hand
# fetches it, and a new month (JIASHU_NOW) lets the rest through. Then
# quiet hours: a large note waits until they end, a small one arrives
# marked quiet.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
export TZ=UTC

start_relay relay
# counter NAME: a byte counter in front of the relay; sets NAME_URL.
counter() {
  "$PYTHON" "$TESTS_DIR/sync/byte_counter.py" "$SCRATCH/$1.port" "$RELAY_PORT" "$SCRATCH/$1.bytes" \
    2>>"$SCRATCH/$1.log" &
  SYNC_PIDS="$SYNC_PIDS $!"
  for _ in $(seq 100); do [ -s "$SCRATCH/$1.port" ] && break; sleep 0.05; done
  [ -s "$SCRATCH/$1.port" ] || fail "the byte counter $1 did not start"
  eval "${1}_URL=http://127.0.0.1:$(cat "$SCRATCH/$1.port")"
}
counter pc
counter cc
PARENT=(--home "$SCRATCH/parent")
CHILD=(--home "$SCRATCH/child")
"$JIASHU" "${PARENT[@]}" setup --relay "$pc_URL" --name mama || fail "setup (parent)"
code=$("$JIASHU" "${PARENT[@]}" family create) || fail "family create"
"$JIASHU" "${CHILD[@]}" setup --relay "$cc_URL" --name nainai || fail "setup (child)"
"$JIASHU" "${CHILD[@]}" family join "$code" || fail "family join"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "sync (parent, pairing)"
"$JIASHU" "${CHILD[@]}" sync >/dev/null || fail "sync (child, pairing)"

wire() { cat "$SCRATCH/$1.bytes"; }                 # "UP DOWN" through counter $1
booked() { "$JIASHU" "$@" data --json | jq .total; } # the month's ledger, both ways
# Everything from here on is sync traffic, which the client books; setup
# and family commands before are not (docs/sync.md, "Data").
read -r p_up0 p_down0 < <(wire pc); p_led0=$(booked "${PARENT[@]}")
read -r c_up0 c_down0 < <(wire cc); c_led0=$(booked "${CHILD[@]}")

note "$SCRATCH/short.wav" 3
sox -q "$SCRATCH/speech.wav" "$SCRATCH/speech.wav" "$SCRATCH/long.wav" trim 0 14
id1=$("$JIASHU" "${PARENT[@]}" record --to nainai --input "$SCRATCH/long.wav") || fail "record"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "sync (parent, send)"
"$JIASHU" "${CHILD[@]}" sync >/dev/null || fail "sync (child, fetch)"
"$JIASHU" "${CHILD[@]}" play "$id1" --output "$SCRATCH/p1.wav" >/dev/null || fail "play"
"$JIASHU" "${CHILD[@]}" sync >/dev/null || fail "sync (child, played mark)"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "sync (parent, receipts)"

# within NAME MEASURED EXPECTED: |MEASURED - EXPECTED| <= 1 % of EXPECTED.
within() {
  "$PYTHON" -c "import sys; m, e = int(sys.argv[1]), int(sys.argv[2]); sys.exit(abs(m - e) > e / 100)" "$2" "$3" ||
    fail "$1: the client booked $2 bytes, the wire carried $3"
  echo "$1: booked $2 bytes, the wire carried $3"
}
read -r p_up1 p_down1 < <(wire pc); read -r c_up1 c_down1 < <(wire cc)
within "parent" $(( $(booked "${PARENT[@]}") - p_led0 )) $(( p_up1 + p_down1 - p_up0 - p_down0 ))
within "child" $(( $(booked "${CHILD[@]}") - c_led0 )) $(( c_up1 + c_down1 - c_up0 - c_down0 ))

"$JIASHU" "${PARENT[@]}" outbox --json >"$SCRATCH/outbox.json"; check_schema outbox "$SCRATCH/outbox.json"
"$JIASHU" "${CHILD[@]}" inbox --json >"$SCRATCH/inbox.json"; check_schema inbox "$SCRATCH/inbox.json"
"$JIASHU" "${CHILD[@]}" data --json >"$SCRATCH/data.json"; check_schema data "$SCRATCH/data.json"
# The note's own lines: its upload on the parent, its download and its two
# receipts on the child, each at least the note and at most 10 % + 3 kB over.
len=$(jq -r ".[] | select(.id == \"$id1\") | .bytes" "$SCRATCH/outbox.json")
up=$(jq -r ".[] | select(.id == \"$id1\") | .wire_sent" "$SCRATCH/outbox.json")
down=$(jq -r ".[] | select(.id == \"$id1\") | .wire_received" "$SCRATCH/inbox.json")
echo "note of $len bytes: parent sent $up for it, child received $down"
[ "$up" -ge "$len" ] && [ "$up" -le $(( len * 11 / 10 + 3000 )) ] || fail "the parent booked $up bytes to a $len-byte note"
[ "$down" -ge "$len" ] && [ "$down" -le $(( len * 11 / 10 + 3000 )) ] || fail "the child booked $down bytes to a $len-byte note"
[ "$(jq -r ".[] | select(.id == \"$id1\") | .wire_sent" "$SCRATCH/inbox.json")" -gt 0 ] ||
  fail "the child's receipts for the note were not booked to it"
# Per member: the child's line for mama holds the note; its own line the rest.
mama=$(jq '[.members[] | select(.member == "mama") | .received] | add // 0' "$SCRATCH/data.json")
own=$(jq '[.members[] | select(.member == null) | .sent + .received] | add // 0' "$SCRATCH/data.json")
[ "$mama" -ge "$len" ] || fail "jiashu data shows $mama bytes from mama: $(cat "$SCRATCH/data.json")"
[ "$own" -gt 0 ] || fail "jiashu data shows no traffic of the device's own: $(cat "$SCRATCH/data.json")"
"$JIASHU" "${CHILD[@]}" data | grep -q "this phone's own sync" || fail "jiashu data has no line for the device's own traffic"

# ---- the budget -------------------------------------------------------------
expect_error_matching "a budget that is not a number" "data_budget_mb wants a whole number from 0 to 1000000" "$JIASHU" "${CHILD[@]}" config data_budget_mb lots
"$JIASHU" "${CHILD[@]}" config data_budget_mb 1 || fail "config data_budget_mb"
[ "$("$JIASHU" "${CHILD[@]}" config data_budget_mb)" = 1 ] || fail "the budget does not read back"
# This month already used all but 2 kB of the megabyte.
month=$(date -u +%Y-%m)
sqlite3 "$SCRATCH/child/jiashu.db" "INSERT INTO traffic VALUES ('$month', '', 0, 0)
  ON CONFLICT DO NOTHING; UPDATE traffic SET received = received + 1000000 - 2000 -
  (SELECT sum(sent + received) FROM traffic WHERE month = '$month') WHERE month = '$month' AND member = ''" ||
  fail "cannot fill the month's ledger"
big=$("$JIASHU" "${PARENT[@]}" record --to nainai --input "$SCRATCH/long.wav") || fail "record (large)"
small=$("$JIASHU" "${PARENT[@]}" record --to nainai --input "$SCRATCH/short.wav") || fail "record (small)"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "sync (parent, two notes)"
"$JIASHU" "${CHILD[@]}" sync >"$SCRATCH/budget.out" || fail "sync (child, over budget): $(cat "$SCRATCH/budget.out")"
[ "$(grep -c "data budget" "$SCRATCH/budget.out")" = 1 ] || fail "no one line about the budget: $(cat "$SCRATCH/budget.out")"
state() { "$JIASHU" "${CHILD[@]}" inbox --json | jq -r ".[] | select(.id == \"$1\") | .state"; }
[ "$(state "$small")" = ready ] || fail "the small note did not come through the budget: $(state "$small")"
[ "$(state "$big")" = announced ] || fail "the large note was fetched past the budget: $(state "$big")"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "sync (parent, receipts)"
"$JIASHU" "${PARENT[@]}" outbox --json | jq -e ".[] | select(.id == \"$small\") | .state == \"delivered\"" >/dev/null ||
  fail "the small note's receipt did not get through the budget"
"$JIASHU" "${CHILD[@]}" sync --json >"$SCRATCH/budget.json" || fail "sync --json (over budget)"
check_schema sync-event "$SCRATCH/budget.json" --lines
grep -q '"event":"postponed","state":"data budget","done":1' "$SCRATCH/budget.json" || fail "no postponed event: $(cat "$SCRATCH/budget.json")"
# Played by hand: fetched now, whatever the budget.
"$JIASHU" "${CHILD[@]}" play "$big" --output "$SCRATCH/big.wav" >/dev/null || fail "play of a postponed note"
[ "$(state "$big")" = played ] || fail "playing the postponed note did not fetch it: $(state "$big")"
# A third large note waits for next month, then comes.
big2=$("$JIASHU" "${PARENT[@]}" record --to nainai --input "$SCRATCH/long.wav") || fail "record (large 2)"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "sync (parent, large 2)"
"$JIASHU" "${CHILD[@]}" sync >/dev/null || fail "sync (child, large 2)"
[ "$(state "$big2")" = announced ] || fail "the second large note was fetched past the budget"
next=$(date -u -d "$(date -u +%Y-%m-01) +1 month +2 days 12:00" +%s)
JIASHU_NOW=$next "$JIASHU" "${CHILD[@]}" sync >"$SCRATCH/next.out" || fail "sync next month"
[ "$(state "$big2")" = ready ] || fail "next month did not fetch the held note: $(cat "$SCRATCH/next.out")"
"$JIASHU" "${CHILD[@]}" config data_budget_mb off || fail "config data_budget_mb off"

# ---- quiet hours --------------------------------------------------------------
expect_error_matching "quiet hours that are no times" "HH:MM" "$JIASHU" "${CHILD[@]}" config quiet_hours 22-7
"$JIASHU" "${CHILD[@]}" config quiet_hours 22:00-07:00 || fail "config quiet_hours"
night=$(date -u -d "$(date -u +%Y-%m-%d) 23:30" +%s)
morning=$(date -u -d "$(date -u +%Y-%m-%d) 23:30 +8 hours" +%s)
big3=$("$JIASHU" "${PARENT[@]}" record --to nainai --input "$SCRATCH/long.wav") || fail "record (night, large)"
small3=$("$JIASHU" "${PARENT[@]}" record --to nainai --input "$SCRATCH/short.wav") || fail "record (night, small)"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "sync (parent, night)"
JIASHU_NOW=$night "$JIASHU" "${CHILD[@]}" sync --json >"$SCRATCH/night.json" || fail "sync at night"
check_schema sync-event "$SCRATCH/night.json" --lines
grep -q '"event":"postponed","state":"quiet hours","done":1' "$SCRATCH/night.json" || fail "no quiet-hours line: $(cat "$SCRATCH/night.json")"
grep -q "\"received\",\"id\":\"$small3\".*\"quiet\":true" "$SCRATCH/night.json" || fail "the small note is not marked quiet: $(cat "$SCRATCH/night.json")"
[ "$(state "$big3")" = announced ] || fail "the large note was fetched in quiet hours"
JIASHU_NOW=$morning "$JIASHU" "${CHILD[@]}" sync --json >"$SCRATCH/morning.json" || fail "sync in the morning"
[ "$(state "$big3")" = ready ] || fail "the large note was not fetched after quiet hours"
grep -q '"quiet":true' "$SCRATCH/morning.json" && fail "a morning download is marked quiet"
echo ok
