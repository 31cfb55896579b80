#!/bin/bash
# Audio figures, each against a peer measured in the same run:
#  - recording 60 s of speech from the virtual microphone through PortAudio
#    vs recording the same speech from a WAV file (`record --input`): CPU
#    time ratio (the device path's own cost; goal <= 1.3), and the time
#    PortAudio takes to open the device (init + open + close, from a
#    one-period recording vs the same from a file);
#  - peak RSS of each (goal: the microphone path within 4 MB of the file
#    path's).
# The virtual device runs faster than real time, so CPU time is the figure.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"

runs=${RUNS:-3}
speech "$SCRATCH/one.wav" 16000
sox -q "$SCRATCH/one.wav" "$SCRATCH/long.wav" repeat 9
sox -q "$SCRATCH/long.wav" "$SCRATCH/in60.wav" trim 0 60
sox -q "$SCRATCH/in60.wav" -t raw "$SCRATCH/speech.raw"
with_silence "$SCRATCH/speech.raw" "$SCRATCH/mic.raw" 0 5
virtual_audio
echo "input: 60 s of speech at 16 kHz; best of $runs runs"

# run_measured CMD...: sets CPU (user + system, ms), WALL (ms) and RSS (KB)
run_measured() {
  local out t0 t1
  t0=$(date +%s%N)
  out=$(/usr/bin/time -f "%U %S %M" "$@" 2>&1 >/dev/null </dev/null | tail -1)
  t1=$(date +%s%N)
  WALL=$(((t1 - t0) / 1000000))
  CPU=$(echo "$out" | awk '{ printf "%d", ($1 + $2) * 1000 }')
  RSS=$(echo "$out" | awk '{ print $3 }')
}
best() { if [ "$1" -eq 0 ] || [ "$2" -lt "$1" ]; then echo "$2"; else echo "$1"; fi; }
fc=0 fw=0 fr=0 mc=0 mw=0 mr=0 so=0 sm=0
sox -q "$SCRATCH/in60.wav" "$SCRATCH/short.wav" trim 0 1
for i in $(seq 1 "$runs"); do
  run_measured "$JIASHU" --home "$SCRATCH/f$i" record --input "$SCRATCH/in60.wav" --max-seconds 60
  fc=$(best $fc "$CPU") fw=$(best $fw "$WALL") fr=$(best $fr "$RSS")
  run_measured "$JIASHU" --home "$SCRATCH/m$i" record --max-seconds 60
  mc=$(best $mc "$CPU") mw=$(best $mw "$WALL") mr=$(best $mr "$RSS")
  run_measured "$JIASHU" --home "$SCRATCH/sf$i" record --input "$SCRATCH/short.wav"
  so=$(best $so "$WALL")
  run_measured "$JIASHU" --home "$SCRATCH/sm$i" record --max-seconds 1
  sm=$(best $sm "$WALL")
done
echo "record 60 s from a WAV file:         cpu ${fc} ms  wall ${fw} ms  peak RSS ${fr} KB"
echo "record 60 s from the microphone:     cpu ${mc} ms  wall ${mw} ms  peak RSS ${mr} KB"
awk -v m="$mc" -v f="$fc" 'BEGIN { printf "microphone/file CPU ratio:           %.2f (goal <= 1.3)\n", m / f }'
echo "extra peak RSS of the device path:   $((mr - fr)) KB (goal <= 4096)"
echo "a 1 s recording, file vs device:      ${so} ms vs ${sm} ms wall (device open and close: ~$((sm - so)) ms)"
