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
  # No byte-by-byte fill of the file device's unused buffer of a few hundred
  # MB at every program start (tests/audio/virtual_audio.sh says why).
  export MALLOC_PERTURB_=0
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

# live_microphone and mic_says: a microphone that keeps real time.
. "$TESTS_DIR/audio/live_microphone.sh"
