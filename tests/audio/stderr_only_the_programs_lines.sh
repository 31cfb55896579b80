#!/bin/bash
# ALSA and JACK would print a screenful on stderr whenever PortAudio looks
# for a device (every run: it tries JACK, which has no server here). jiashu's
# stderr carries exactly its own lines: nothing when all goes well, its one
# line when it fails. The chatter goes through the audio library's log, which
# JIASHU_AUDIO_TRACE turns on: then it reaches stderr too, as the program's
# lines, although it is printed from inside PortAudio's calls, where pointing
# fd 2 at /dev/null would swallow it (and any other line printed meanwhile).
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"

# exact_stderr WHAT EXPECTED CMD...: CMD's stderr is EXPECTED, byte for byte.
exact_stderr() {
  local what=$1 expected=$2; shift 2
  "$@" </dev/null >"$SCRATCH/out" 2>"$SCRATCH/err" || true
  [ "$(cat "$SCRATCH/err")" = "$expected" ] ||
    fail "$what: stderr is not exactly '$expected' but: $(head -c 600 "$SCRATCH/err")"
}

# A virtual microphone and speaker: record and play say nothing.
burst_pattern "$SCRATCH/pattern.raw"
with_silence "$SCRATCH/pattern.raw" "$SCRATCH/mic.raw" 0 2
(
  virtual_audio
  exact_stderr "record from the virtual microphone" "" \
    "$JIASHU" --home "$SCRATCH/jh" record --max-seconds 1
  id=$(cat "$SCRATCH/out")
  [[ "$id" =~ ^[0-9a-f-]{36}$ ]] || fail "record printed '$id', not an id"
  exact_stderr "play to the virtual speaker" "" "$JIASHU" --home "$SCRATCH/jh" play "$id"
  [ -s "$SCRATCH/speaker.raw" ] || fail "nothing reached the virtual speaker"
)

# No microphone in the configuration: exactly the program's line.
(
  virtual_audio --no-capture
  exact_stderr "record with no microphone" "jiashu: record: no microphone was found" \
    "$JIASHU" --home "$SCRATCH/jh" record --max-seconds 1
)

# No sound card, through the system's own ALSA configuration (whose many
# PCMs ALSA complains about one by one) with its default on a card that is
# not there, so that a machine with a sound card or a sound server behaves
# the same. alsa-lib's plugin modules (pulse, jack, ...) leak a little and
# are unloaded before exit, so LeakSanitizer can neither name nor suppress
# them (lsan.supp): leak checking is off for these two runs of a sanitizer
# build, and only for them.
mkdir -p "$SCRATCH/nocard"
echo 'pcm.!default { type hw; card 31 }' >"$SCRATCH/nocard/.asoundrc"
(
  export HOME="$SCRATCH/nocard" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
  unset ALSA_CONFIG_PATH
  exact_stderr "record with no sound card" "jiashu: record: no microphone was found" \
    "$JIASHU" --home "$SCRATCH/jh" record --max-seconds 1

  # The same run with the chatter asked for: it is there, every line is
  # the program's, and the program's error is still the last line.
  JIASHU_AUDIO_TRACE=1 "$JIASHU" --home "$SCRATCH/jh" record --max-seconds 1 \
    </dev/null >/dev/null 2>"$SCRATCH/trace" && fail "record with no sound card succeeded"
  grep -q '^jiashu: audio: JACK: ' "$SCRATCH/trace" ||
    fail "no JACK message came through the audio log: $(head -c 600 "$SCRATCH/trace")"
  grep -q '^jiashu: audio: ALSA: ' "$SCRATCH/trace" ||
    fail "no ALSA message came through the audio log: $(head -c 600 "$SCRATCH/trace")"
  grep -v '^jiashu: ' "$SCRATCH/trace" >"$SCRATCH/stray" &&
    fail "lines on stderr that are not the program's: $(head -c 600 "$SCRATCH/stray")"
  [ "$(tail -n 1 "$SCRATCH/trace")" = "jiashu: record: no microphone was found" ] ||
    fail "the program's error is not the last line: $(tail -n 3 "$SCRATCH/trace")"
)

# A speaker that vanishes mid-message: the program's line, after PortAudio's
# own trace of the failed ALSA calls (the one thing that still writes to
# stderr itself, see docs/audio.md), and no JACK or ALSA chatter.
(
  virtual_audio
  id=$("$JIASHU" --home "$SCRATCH/jh" outbox | awk 'NR == 1 { print $1 }')
  JIASHU_TEST_UNPLUG_PLAYBACK_AFTER=4000 LD_PRELOAD="$DEVICE_UNPLUG" \
    expect_error_after_device_trace "play to a vanished speaker" \
    "^jiashu: play $id: the sound device stopped working\$" \
    "$JIASHU" --home "$SCRATCH/jh" play "$id"
)
echo ok
