# A live virtual microphone for the tests that need one. Source it after
# tests/lib.sh (tests/station/sound_devices.sh sources it).

# live_microphone: after sound_devices (tests/station) or virtual_audio
# (tests/audio), the microphone becomes a live one,
# paced in real time as a real one is: PulseAudio's null sink "mic", whose
# monitor ALSA's pulse plugin captures. (ALSA's file plugin over its null
# device hands out a recording as fast as it is read: 120 s in a second,
# so a recording would end before any key could stop it.) It is silent
# until mic_says plays into it.
live_microphone() {
  mkdir -p "$SCRATCH/run"
  chmod 700 "$SCRATCH/run"
  export XDG_RUNTIME_DIR="$SCRATCH/run" PULSE_RUNTIME_PATH="$SCRATCH/run/pulse"
  printf '%s\n' 'load-module module-native-protocol-unix' \
    'load-module module-null-sink sink_name=mic rate=16000 channels=1' >"$SCRATCH/pulse.pa"
  pulseaudio -n --daemonize=no --exit-idle-time=-1 --use-pid-file=no --disable-shm=yes \
    -F "$SCRATCH/pulse.pa" --log-target=file:"$SCRATCH/pulse.log" &
  PULSE_PID=$!
  local i
  for i in $(seq 100); do
    pactl info >/dev/null 2>&1 && break
    kill -0 "$PULSE_PID" 2>/dev/null || fail "PulseAudio did not start: $(grep -m1 '^E' "$SCRATCH/pulse.log")"
    sleep 0.1
  done
  pactl info >/dev/null 2>&1 || fail "PulseAudio did not answer"
  sed -i 's|^pcm.mic .*|pcm.mic { type pulse; device "mic.monitor" }|' "$SCRATCH/home/.asoundrc"
  # Stopped first, then whatever the test already does on exit.
  local before
  before=$(trap -p EXIT | sed "s/^trap -- '\(.*\)' EXIT$/\1/")
  trap "kill $PULSE_PID 2>/dev/null; ${before:-cleanup_scratch}" EXIT
}

# mic_says FILE.wav: once a program listens to the live microphone (within
# 10 s), it hears FILE.wav, in real time.
mic_says() {
  local i
  for i in $(seq 100); do
    [ -n "$(pactl list short source-outputs)" ] && break
    sleep 0.1
  done
  [ -n "$(pactl list short source-outputs)" ] || fail "nothing listens to the microphone"
  paplay --device=mic "$1"
}
