# Virtual sound devices for the audio tests, through ALSA's configuration:
# a microphone that reads a raw file and a speaker that writes one, both
# S16_LE 16 kHz mono, reached by PortAudio as ALSA's "default". Source it
# after tests/lib.sh.
#
# virtual_audio [--no-capture | --mic-rate HZ]: writes $SCRATCH/home/.asoundrc
#   for $SCRATCH/mic.raw (the microphone's sound, S16_LE mono at 16 kHz or
#   HZ) and $SCRATCH/speaker.raw (what was played), and exports HOME so every
#   program the test starts uses it.
# The microphone's file must be at the rate the program opens the device
# with: ALSA's plug conversions in front of the file plugin drop frames
# (seen here: a third of them), so a test that wants the program to convert
# gives the device a native rate other than 16 kHz instead.
virtual_audio() {
  local capture=yes mic_rate=16000
  [ "${1:-}" = --no-capture ] && capture=no
  [ "${1:-}" = --mic-rate ] && mic_rate=$2
  mkdir -p "$SCRATCH/home"
  : >"$SCRATCH/speaker.raw"
  [ -f "$SCRATCH/mic.raw" ] || : >"$SCRATCH/mic.raw"
  {
    if [ "$capture" = yes ]; then
      echo 'pcm.!default { type asym; playback.pcm "spk"; capture.pcm "mic" }'
    else
      echo 'pcm.!default { type asym; playback.pcm "spk" }'
    fi
    echo "pcm.spk { type plug; slave { pcm { type file; slave.pcm { type null }; file \"$SCRATCH/speaker.raw\"; format \"raw\" }; format S16_LE; rate 16000; channels 1 } }"
    if [ "$capture" = yes ]; then
      echo "pcm.mic { type plug; slave { pcm { type file; slave.pcm { type null }; file \"/dev/null\"; infile \"$SCRATCH/mic.raw\"; format \"raw\" }; format S16_LE; rate $mic_rate; channels 1 } }"
    fi
  } >"$SCRATCH/home/.asoundrc"
  export HOME="$SCRATCH/home" ALSA_CONFIG_PATH="$SCRATCH/home/.asoundrc"
  # The file plugin over a null slave has no buffer limit, so ALSA's plug
  # layer allocates a few hundred MB for it, which it never touches; the
  # MALLOC_PERTURB_ meson sets for every test makes glibc fill every byte
  # of it, 2.5-4.5 s a program start. A real sound card's buffer is a few
  # kB. Glibc's perturbation stays on in every test without this device,
  # and the sanitizer build checks memory use in these too.
  export MALLOC_PERTURB_=0
}

# burst_pattern FILE.raw: 3 s of 16 kHz S16_LE mono, a pattern that cannot
# be mistaken for silence or a steady tone: bursts of 440, 1000 and 2500 Hz
# with silences of different lengths between them. The microphone's file
# ends in a long silence so that what the file plugin repeats after the end
# of its input (the last period, over and over) is silence.
burst_pattern() {
  sox -q -n -r 16000 -c 1 -b 16 -e signed -t raw "$1" \
    synth 0.30 sine 440 : synth 0.20 sine 0 vol 0 : synth 0.25 sine 1000 : \
    synth 0.45 sine 0 vol 0 : synth 0.40 sine 2500 vol 0.6 : synth 0.15 sine 0 vol 0 : \
    synth 0.35 sine 440 vol 0.8 : synth 0.30 sine 0 vol 0 : synth 0.60 sine 1000 vol 0.5
}

# with_silence IN.raw OUT.raw SECONDS_BEFORE SECONDS_AFTER
with_silence() {
  sox -q -r 16000 -c 1 -b 16 -e signed -t raw "$1" -r 16000 -c 1 -b 16 -e signed -t raw "$2" \
    pad "$3" "$4"
}

# decoded_raw ID OUT.raw: the message as 16 kHz S16_LE mono, through
# `jiashu play --output` (the codec's decoder).
decoded_raw() {
  "$JIASHU" --home "$SCRATCH/jh" play "$1" --output "$SCRATCH/decoded.wav" >/dev/null
  sox -q "$SCRATCH/decoded.wav" -r 16000 -c 1 -b 16 -e signed -t raw "$2"
}

# message_field ID COLUMN: a column of the message's line in `jiashu outbox`
# or `jiashu inbox` (2 = state, 3 = duration in seconds).
message_field() {
  { "$JIASHU" --home "$SCRATCH/jh" outbox; "$JIASHU" --home "$SCRATCH/jh" inbox; } |
    awk -v id="$1" -v col="$2" '$1 == id { print $col }'
}

# PortAudio's ALSA code traces each ALSA call that fails once a device has
# stopped working mid-stream, straight to stderr (vfprintf in
# PaUtil_DebugPrint; Debian's libportaudio exports no hook to redirect it,
# see docs/audio.md). One such line, exactly:
PORTAUDIO_ALSA_TRACE="^Expression '.*' failed in 'src/hostapi/alsa/pa_linux_alsa\.c', line: [0-9]+\$"

# expect_error_after_device_trace WHAT REGEX CMD...: expect_error_matching
# for a device that vanishes mid-stream: before the program's one line,
# stderr may carry PortAudio's trace lines above and nothing else (no JACK
# or ALSA chatter).
expect_error_after_device_trace() {
  local what=$1 regex=$2; shift 2
  local rc=0
  "$@" >"$SCRATCH/out" 2>"$SCRATCH/err.all" || rc=$?
  [ "$rc" -ne 0 ] || fail "$what: succeeded but should have failed"
  [ "$rc" -lt 128 ] || fail "$what: died by signal $((rc - 128))"
  grep -Ev "$PORTAUDIO_ALSA_TRACE" "$SCRATCH/err.all" >"$SCRATCH/err" || true
  [ "$(wc -l <"$SCRATCH/err")" -eq 1 ] ||
    { cat "$SCRATCH/err.all" >&2; fail "$what: expected one line on stderr besides PortAudio's trace, got $(wc -l <"$SCRATCH/err")"; }
  [ "$(tail -n 1 "$SCRATCH/err.all")" = "$(cat "$SCRATCH/err")" ] ||
    { cat "$SCRATCH/err.all" >&2; fail "$what: the program's line is not the last on stderr"; }
  LAST_ERROR=$(cat "$SCRATCH/err")
  echo "$LAST_ERROR" | grep -Eiq -- "$regex" || fail "$what: error '$LAST_ERROR' does not match /$regex/"
}
