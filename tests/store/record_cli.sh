#!/bin/bash
# The store's commands end to end: record a WAV into the outbox, list it,
# export it, play it to a WAV; the errors a user can cause.
. "$TESTS_DIR/lib.sh"

H="$SCRATCH/home"
speech "$SCRATCH/in.wav" 16000
in_ms=$(soxi -D "$SCRATCH/in.wav" | awk '{printf "%d", $1 * 1000}')

id=$("$JIASHU" --home "$H" record --to 奶奶 --input "$SCRATCH/in.wav") || fail "record failed"
echo "$id" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' \
  || fail "record prints a UUID, got '$id'"
[ "$(stat -c %a "$H")" = 700 ] || fail "the home is created with mode 0700"

"$JIASHU" --home "$H" outbox >"$SCRATCH/outbox.txt"
grep -q "^$id  ready" "$SCRATCH/outbox.txt" || { cat "$SCRATCH/outbox.txt"; fail "outbox lists the message as ready"; }
grep -q "奶奶" "$SCRATCH/outbox.txt" || fail "outbox shows the recipient"

"$JIASHU" --home "$H" outbox --json >"$SCRATCH/outbox.json"
jq -e --arg id "$id" 'length == 1 and .[0].id == $id and .[0].state == "ready" and .[0].to == "奶奶"' \
  "$SCRATCH/outbox.json" >/dev/null || { cat "$SCRATCH/outbox.json"; fail "outbox --json"; }
dur=$(jq '.[0].duration_ms' "$SCRATCH/outbox.json")
[ "$dur" -ge $((in_ms - 100)) ] && [ "$dur" -le $((in_ms + 100)) ] \
  || fail "recorded duration $dur ms, input $in_ms ms"

"$JIASHU" --home "$H" inbox --json | jq -e 'length == 0' >/dev/null || fail "inbox --json is []"
[ -z "$("$JIASHU" --home "$H" inbox)" ] || fail "an empty inbox prints nothing"

# Export: the very bytes, a valid Ogg Opus file.
"$JIASHU" --home "$H" export "$id" "$SCRATCH/out.opus" || fail "export failed"
bytes=$(jq '.[0].bytes' "$SCRATCH/outbox.json")
[ "$(stat -c %s "$SCRATCH/out.opus")" -eq "$bytes" ] || fail "export writes every byte"
sha=$(jq -r '.[0].sha256' "$SCRATCH/outbox.json")
[ "$(sha256sum <"$SCRATCH/out.opus" | cut -d' ' -f1)" = "$sha" ] || fail "export matches the stored SHA-256"
opusinfo "$SCRATCH/out.opus" >/dev/null 2>&1 || fail "opusinfo accepts the exported file"

# Play (a preview of an outbox message) decodes to a WAV of the same length.
"$JIASHU" --home "$H" play "$id" --output "$SCRATCH/out.wav" >/dev/null || fail "play failed"
out_ms=$(soxi -D "$SCRATCH/out.wav" | awk '{printf "%d", $1 * 1000}')
[ "$out_ms" -ge $((in_ms - 100)) ] && [ "$out_ms" -le $((in_ms + 100)) ] \
  || fail "played $out_ms ms of $in_ms ms"
"$JIASHU" --home "$H" outbox --json | jq -e '.[0].state == "ready"' >/dev/null \
  || fail "previewing an outbox message changes nothing"

# --max-seconds cuts the recording.
id2=$("$JIASHU" --home "$H" record --max-seconds 2 --input "$SCRATCH/in.wav")
d2=$("$JIASHU" --home "$H" outbox --json | jq --arg id "$id2" '.[] | select(.id == $id) | .duration_ms')
[ "$d2" -ge 1900 ] && [ "$d2" -le 2050 ] || fail "--max-seconds 2 gave $d2 ms"

# Settings.
[ "$("$JIASHU" --home "$H" config quota_bytes)" = 67108864 ] || fail "default quota"
"$JIASHU" --home "$H" config quota_bytes 1000000
[ "$("$JIASHU" --home "$H" config quota_bytes)" = 1000000 ] || fail "quota set"
expect_error_matching "quota too small" "quota_bytes wants a whole number from 65536" "$JIASHU" --home "$H" config quota_bytes 5
expect_error_matching "recovered_state" "recovered_state wants one of: ready draft" "$JIASHU" --home "$H" config recovered_state sent
expect_error_matching "a misspelt setting" "there is no setting called 'quota_byte'" "$JIASHU" --home "$H" config quota_byte 5
expect_error_matching "unset setting" "not set" "$JIASHU" --home "$H" config relay_url

# A quota too small for the longest recording: refused before it starts.
"$JIASHU" --home "$H" config quota_bytes 65536
n_before=$("$JIASHU" --home "$H" outbox --json | jq length)
expect_error_matching "record over quota" "cannot start.*not yet sent or heard" \
  "$JIASHU" --home "$H" record --input "$SCRATCH/in.wav"
[ "$("$JIASHU" --home "$H" outbox --json | jq length)" = "$n_before" ] || fail "nothing recorded over quota"

# Errors a user can make.
expect_error_matching "export unknown id" "no such message" \
  "$JIASHU" --home "$H" export 00000000-0000-4000-8000-000000000000 "$SCRATCH/x.opus"
expect_error_matching "record a missing file" "in.nope" \
  "$JIASHU" --home "$H" record --input "$SCRATCH/in.nope"
expect_error_matching "record not a wav" "WAV" "$JIASHU" --home "$H" record --input "$SCRATCH/out.opus"
expect_error_matching "play --next on an empty inbox" "no new messages" \
  "$JIASHU" --home "$H" play --next --output "$SCRATCH/x.wav"
expect_clean_error "record with no input" "$JIASHU" --home "$H" record
expect_clean_error "export without a file" "$JIASHU" --home "$H" export "$id"
echo ok
