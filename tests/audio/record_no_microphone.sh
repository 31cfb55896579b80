#!/bin/bash
# No capture device in ALSA's configuration: `jiashu record` says so in one
# line, exits non-zero, and leaves no message behind.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"

virtual_audio --no-capture
expect_error_matching "record without a microphone" "^jiashu: record: no microphone" \
  "$JIASHU" --home "$SCRATCH/jh" record --max-seconds 5
[ -z "$("$JIASHU" --home "$SCRATCH/jh" outbox)" ] || fail "a message was left in the outbox"
echo ok
