# Virtual sound devices for the station's tests: DESIGN.md's ALSA "file"
# plugin set-up, which PortAudio opens as ALSA's "default". Source it after
# tests/lib.sh.
#
# sound_devices: the microphone plays $SCRATCH/mic.raw (S16_LE 16 kHz mono;
# silence if there is none) and every stream that opens the speaker writes a
# new $SCRATCH/speaker.raw.NNNN ("truncate false": the earcons and each
# message open their own stream, so nothing played is overwritten). Exports
# HOME and ALSA_CONFIG_PATH so every program the test starts finds it.
sound_devices() {
  mkdir -p "$SCRATCH/home"
  [ -f "$SCRATCH/mic.raw" ] || sox -q -n -r 16000 -c 1 -b 16 -e signed -t raw "$SCRATCH/mic.raw" trim 0 30
  cat >"$SCRATCH/home/.asoundrc" <<ASOUND
pcm.!default { type asym; playback.pcm "spk"; capture.pcm "mic" }
pcm.spk { type plug; slave { pcm { type file; slave.pcm { type null }; file "$SCRATCH/speaker.raw"; format "raw"; truncate false }; format S16_LE; rate 16000; channels 1 } }
pcm.mic { type plug; slave { pcm { type file; slave.pcm { type null }; file "/dev/null"; infile "$SCRATCH/mic.raw"; format "raw" }; format S16_LE; rate 16000; channels 1 } }
ASOUND
  # ALSA then reads this file alone, not the machine's own configuration.
  export HOME="$SCRATCH/home" ALSA_CONFIG_PATH="$SCRATCH/home/.asoundrc"
  # ALSA's null device (the end of the virtual speaker) lets a stream
  # reserve a buffer of hundreds of MB, which malloc fills byte by byte under
  # meson's MALLOC_PERTURB_: seconds per stream, with malloc's lock held, so
  # every fork() of the station (its children) waited for the prompts.
  unset MALLOC_PERTURB_
}

# speaker_bytes: all that reached the speaker so far.
speaker_bytes() {
  cat "$SCRATCH"/speaker.raw* 2>/dev/null | wc -c
}

# speaker_grows_by BYTES SECONDS: the speaker gets BYTES more within SECONDS.
speaker_grows_by() {
  local want=$(($(speaker_bytes) + $1)) i
  for i in $(seq $(($2 * 10))); do
    [ "$(speaker_bytes)" -ge "$want" ] && return 0
    sleep 0.1
  done
  return 1
}

# mic_speech FILE.wav: the microphone says FILE.wav, then stays silent.
mic_speech() {
  sox -q "$1" -r 16000 -c 1 -t raw -e signed -b 16 "$SCRATCH/mic.raw" pad 0 30
}

# live_microphone: after sound_devices, the microphone becomes a live one,
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
  local after=cleanup_scratch
  declare -F cleanup_screen >/dev/null && after=cleanup_screen
  trap "kill $PULSE_PID 2>/dev/null; $after" EXIT
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
