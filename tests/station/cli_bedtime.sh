#!/bin/bash
# Bedtime letters through the command line and a real relay: record --at
# checks its time; the time travels inside the sealed note; the recipient's
# inbox shows it as a bedtime letter; play --next leaves it until its time
# (on a test clock, JIASHU_NOW) and plays it after; play ID plays it at
# once; one that arrives after its time that day plays at once, not the
# next night; an ordinary letter is not touched; the sender sees when each
# was played.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/station/tmux.sh"
. "$TESTS_DIR/station/relay_lib.sh"
. "$TESTS_DIR/station/bedtime_lib.sh"
need_sync
bedtime_clock
P=$SCRATCH/mama
G=$SCRATCH/nainai

# A time that is not HH:MM from 00:00 to 23:59: one line, a non-zero exit.
speech "$SCRATCH/a.wav" 16000 "宝贝，该睡觉了。"
for bad in 24:00 20:60 8:30 20:3 2030 20:30x " 20:30" "" -1:00 ２０:30; do
  expect_error_matching "record --at '$bad'" "--at needs a time HH:MM from 00:00 to 23:59" \
    "$JIASHU" --home "$SCRATCH/bad" record --at "$bad" --input "$SCRATCH/a.wav"
done
expect_clean_error "record --at without a time" "$JIASHU" --home "$SCRATCH/bad" record --at
[ ! -e "$SCRATCH/bad/jiashu.db" ] || [ -z "$("$JIASHU" --home "$SCRATCH/bad" outbox)" ] ||
  fail "a refused --at left a message behind"

start_station_relay
"$JIASHU" --home "$P" setup --relay "$RELAY_URL" --name Mama >/dev/null
"$JIASHU" --home "$P" family create >"$SCRATCH/create.out"
code=$(grep -Eo '[0-9]{4,}' "$SCRATCH/create.out" | tail -1)
"$JIASHU" --home "$G" setup --relay "$RELAY_URL" --name Nainai >/dev/null
"$JIASHU" --home "$G" family join "$code" >/dev/null
"$JIASHU" --home "$P" sync >/dev/null
"$JIASHU" --home "$G" sync >/dev/null

speech "$SCRATCH/b.wav" 16000 "今天下班早。"
plain=$("$JIASHU" --home "$P" record --input "$SCRATCH/b.wav")
bed=$("$JIASHU" --home "$P" record --at 20:30 --input "$SCRATCH/a.wav")
bed2=$("$JIASHU" --home "$P" record --at 20:30 --input "$SCRATCH/a.wav")
# For 00:30, sent at about 01:00: its time has passed that day, so it is a
# letter for now, not for tomorrow night.
late=$("$JIASHU" --home "$P" record --at 00:30 --input "$SCRATCH/a.wav")
"$JIASHU" --home "$P" outbox --json >"$SCRATCH/outbox.json"
check_schema outbox "$SCRATCH/outbox.json"
[ "$(grep -c '"play_at": "20:30"' "$SCRATCH/outbox.json")" = 2 ] || fail "the outbox does not keep the two bedtimes"
# Inside the note itself, where any Ogg reader finds it.
"$JIASHU" --home "$P" export "$bed" "$SCRATCH/bed.opus"
opusinfo "$SCRATCH/bed.opus" 2>/dev/null | grep -q "JIASHU_PLAY_AT=20:30" ||
  fail "the note does not carry JIASHU_PLAY_AT=20:30 in its tags"
"$JIASHU" --home "$P" sync >/dev/null
"$JIASHU" --home "$G" sync >/dev/null

"$JIASHU" --home "$G" inbox --json >"$SCRATCH/inbox.json"
check_schema inbox "$SCRATCH/inbox.json"
late_after=$("$PYTHON" -c 'import json,sys; print([m.get("play_after_ms", 0) for m in json.load(open(sys.argv[1])) if m["id"] == sys.argv[2]][0])' "$SCRATCH/inbox.json" "$late")
[ "$late_after" -le "$(date +%s%3N)" ] && [ "$late_after" -gt "$(date -d 'today 00:30' +%s)000" ] ||
  fail "a letter for 00:30 that arrived at 01:00 does not play from its arrival: $late_after"
[ "$(grep -c '"play_at": "20:30"' "$SCRATCH/inbox.json")" = 2 ] || fail "the inbox does not show the two bedtimes"
grep -q "\"play_after_ms\": $(date -d 'today 20:30' +%s)000" "$SCRATCH/inbox.json" ||
  fail "a letter that arrived at 01:00 does not wait for 20:30 that day: $(grep play_after "$SCRATCH/inbox.json")"
JIASHU_NOW=$BEFORE "$JIASHU" --home "$G" inbox >"$SCRATCH/inbox.txt"
[ "$(grep -c "bedtime letter for 20:30, waiting" "$SCRATCH/inbox.txt")" = 2 ] ||
  { cat "$SCRATCH/inbox.txt" >&2; fail "inbox does not show two bedtime letters waiting"; }
grep "^$plain" "$SCRATCH/inbox.txt" | grep -q bedtime && fail "the ordinary letter is shown as a bedtime letter"

# Before its time: the autoplay takes the ordinary letter, then nothing.
id=$(JIASHU_NOW=$BEFORE "$JIASHU" --home "$G" play --next --output "$SCRATCH/1.wav")
[ "$id" = "$plain" ] || fail "play --next played $id before 20:30, not the ordinary letter"
id=$(JIASHU_NOW=$BEFORE "$JIASHU" --home "$G" play --next --output "$SCRATCH/1b.wav")
[ "$id" = "$late" ] || fail "play --next played '$id', not the letter for 00:30 that came late"
expect_error_matching "play --next before 20:30" "no new messages" \
  env JIASHU_NOW="$BEFORE" "$JIASHU" --home "$G" play --next --output "$SCRATCH/2.wav"
# Asked for by its id, it plays at once: the listener chose it.
id=$(JIASHU_NOW=$BEFORE "$JIASHU" --home "$G" play "$bed2" --output "$SCRATCH/3.wav")
[ "$id" = "$bed2" ] || fail "play ID of a bedtime letter before its time did not play it"
# After its time it is an ordinary new letter.
JIASHU_NOW=$AFTER "$JIASHU" --home "$G" inbox | grep "^$bed" | grep -q "bedtime letter for 20:30$" ||
  fail "inbox still says the letter waits after 20:30"
id=$(JIASHU_NOW=$AFTER "$JIASHU" --home "$G" play --next --output "$SCRATCH/4.wav")
[ "$id" = "$bed" ] || fail "play --next after 20:30 played '$id', not the bedtime letter"
"$JIASHU" --home "$G" sync >/dev/null

# The sender sees each played, and when.
SYNC=1 wait_for_state "$P" outbox "played" 30
for i in 1 2 3 4 5 6 7 8 9 10; do
  [ "$("$JIASHU" --home "$P" outbox --json | grep -c '"state": "played"')" = 4 ] && break
  "$JIASHU" --home "$P" sync >/dev/null; sleep 0.3
done
"$JIASHU" --home "$P" outbox --json >"$SCRATCH/outbox.json"
check_schema outbox "$SCRATCH/outbox.json"
[ "$(grep -c '"played_ms"' "$SCRATCH/outbox.json")" = 4 ] || fail "the sender does not see four letters played"
"$JIASHU" --home "$P" outbox >"$SCRATCH/outbox.txt"
grep "^$bed" "$SCRATCH/outbox.txt" | grep -Eq "played [0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} .*bedtime letter for 20:30$" ||
  { cat "$SCRATCH/outbox.txt" >&2; fail "the sender's outbox does not show the bedtime letter played, and when"; }
echo ok
