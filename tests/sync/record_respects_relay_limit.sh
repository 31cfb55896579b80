#!/bin/bash
# The client learns the relay's Tus-Max-Size at setup and at sync, and
# `record` refuses up front, in one line, a note that relay would not take
# (rather than recording it and meeting 413 at every sync for ever). A relay
# with the default limit takes the largest note a client can record.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"

# What util/util.h derives from the codec's limits: ten minutes at 64 kbit/s,
# a quarter for the container, 64 KiB of tags, 256 KiB for the seal.
largest=$((600 * 64000 / 8 * 5 / 4 + 65536 + 262144))

# A relay set up with the old 2 MiB default.
start_relay old 0 --max-message-bytes 2097152
port=$RELAY_PORT
family "http://127.0.0.1:$port"
[ "$("$JIASHU" "${PARENT[@]}" config relay_max_upload_bytes)" = 2097152 ] ||
  fail "setup did not learn the relay's Tus-Max-Size"

# 200 s at 64 kbit/s may take about 2.3 MB: refused before anything is recorded.
sox -q -n -r 16000 -c 1 -b 16 "$SCRATCH/long.wav" synth 200 sine 440 vol 0.3
expect_error_matching "a note larger than the relay takes" "more than the relay accepts \(2097152\)" \
  "$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/long.wav" --bitrate 64000
[ "$("$JIASHU" "${PARENT[@]}" outbox --json | jq length)" = 0 ] || fail "the refused note was kept"
# The same at a bitrate, or a length, that fits is recorded.
"$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/long.wav" --bitrate 64000 --max-seconds 20 \
  >/dev/null || fail "a note that fits was refused"

# The relay restarts with the default limit: the next sync learns it.
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
start_relay old "$port"
hdr=$(curl -sS -X OPTIONS -D - -o /dev/null "http://127.0.0.1:$port/v1/uploads" | tr -d '\r' |
  sed -n 's/^[Tt]us-[Mm]ax-[Ss]ize: *//p')
[ "$hdr" = "$largest" ] || fail "the default relay takes $hdr bytes, not the largest note, $largest"
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "sync"
[ "$("$JIASHU" "${PARENT[@]}" config relay_max_upload_bytes)" = "$largest" ] ||
  fail "sync did not learn the relay's new Tus-Max-Size"
"$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/long.wav" --bitrate 64000 --max-seconds 200 \
  --to nainai >/dev/null || fail "a note the default relay takes was refused"
echo ok
