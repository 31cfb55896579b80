# Pieces for app/demo.sh's whole story, to be sourced: a virtual microphone
# and speaker (ALSA's file plugin, no sound card needed), so the demo can run
# `jiashu record` and `jiashu play --next` through PortAudio for real.
#
#   . app/demo_audio.sh
#   demo_audio_devices "$work"              # $work/home/.asoundrc; exports HOME
#   demo_audio_speak "$work/parent.wav"     # what the microphone will hear next
#   build/app/cli/jiashu --home "$work/dad" record --max-seconds 8 </dev/null
#   : >"$work/speaker.raw"; build/app/cli/jiashu --home "$work/kid" play --next </dev/null
#   demo_audio_heard                        # "   speaker: 7.9 s of sound played"
#
# The virtual devices run faster than real time: a recording stops at
# --max-seconds (or a key on stdin), not after that many seconds of waiting.

demo_audio_devices() {
  DEMO_AUDIO_DIR=$1
  mkdir -p "$DEMO_AUDIO_DIR/home"
  : >"$DEMO_AUDIO_DIR/speaker.raw"
  [ -f "$DEMO_AUDIO_DIR/mic.raw" ] || : >"$DEMO_AUDIO_DIR/mic.raw"
  cat >"$DEMO_AUDIO_DIR/home/.asoundrc" <<EOT
pcm.!default { type asym; playback.pcm "spk"; capture.pcm "mic" }
pcm.spk { type plug; slave { pcm { type file; slave.pcm { type null }; file "$DEMO_AUDIO_DIR/speaker.raw"; format "raw" }; format S16_LE; rate 16000; channels 1 } }
pcm.mic { type plug; slave { pcm { type file; slave.pcm { type null }; file "/dev/null"; infile "$DEMO_AUDIO_DIR/mic.raw"; format "raw" }; format S16_LE; rate 16000; channels 1 } }
EOT
  # Only this configuration: the system's would have PortAudio probe (and
  # load, then unload) plug-ins such as PulseAudio's that the demo never uses.
  export HOME="$DEMO_AUDIO_DIR/home" ALSA_CONFIG_PATH="$DEMO_AUDIO_DIR/home/.asoundrc"
  # No byte-by-byte fill of the file device's unused buffer of a few hundred
  # MB at every program start (tests/audio/virtual_audio.sh says why).
  export MALLOC_PERTURB_=0
}

# demo_audio_speak FILE.wav: the microphone hears this, then silence (the
# file plugin repeats its last period after the end, so it must be quiet).
demo_audio_speak() {
  sox -q "$1" -r 16000 -c 1 -b 16 -e signed -t raw "$DEMO_AUDIO_DIR/mic.raw" pad 0.2 30
}

demo_audio_heard() {
  local bytes
  bytes=$(stat -c %s "$DEMO_AUDIO_DIR/speaker.raw")
  awk -v b="$bytes" 'BEGIN { printf "   speaker: %.1f s of sound played\n", b / 32000 }'
}
