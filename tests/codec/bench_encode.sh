#!/bin/bash
# Encoding cost against opusenc, side by side in one run, and the container
# overhead of a 30 s note. Prints the figures; fails if a goal is missed:
#   CPU time of `jiashu encode` / `opusenc` (same bitrate, 60 ms frames,
#   complexity 10) <= 1.0, with clean-up off and on (opusenc has none);
#   peak RSS <= 8 MB; container overhead (opusinfo) of a 30 s note <= 1.5 %.
. "$TESTS_DIR/lib.sh"
cd "$SCRATCH"
rounds=${BENCH_ROUNDS:-5}

# 60 s and 30 s of Mandarin speech at 16 kHz.
speech one.wav 16000
sox -q one.wav one.wav one.wav one.wav long.wav
sox -q long.wav speech60.wav trim 0 60
sox -q long.wav speech30.wav trim 0 30

# cpu_rss CMD...: "user+sys-seconds peak-RSS-KiB" of one run.
cpu_rss() {
  /usr/bin/time -f '%U %S %M' -o "$SCRATCH/time" "$@" >/dev/null 2>&1 || fail "failed: $*"
  awk '{ printf "%.3f %d\n", $1 + $2, $3 }' "$SCRATCH/time"
}

# Interleaved rounds, so a busy neighbour slows all three alike; the
# minimum of each is its cost.
best_ref=999 best_on=999 best_off=999 rss_ref=0 rss_on=0 rss_off=0
for ((i = 0; i < rounds; i++)); do
  read -r t m < <(cpu_rss opusenc --quiet --bitrate 16 --framesize 60 --comp 10 speech60.wav ref.opus)
  best_ref=$(awk -v a="$best_ref" -v b="$t" 'BEGIN { print (b < a ? b : a) }'); rss_ref=$m
  read -r t m < <(cpu_rss "$JIASHU" encode speech60.wav on.opus --bitrate 16000)
  best_on=$(awk -v a="$best_on" -v b="$t" 'BEGIN { print (b < a ? b : a) }')
  [ "$m" -gt "$rss_on" ] && rss_on=$m
  read -r t m < <(cpu_rss "$JIASHU" encode speech60.wav off.opus --bitrate 16000 --no-cleanup)
  best_off=$(awk -v a="$best_off" -v b="$t" 'BEGIN { print (b < a ? b : a) }')
  [ "$m" -gt "$rss_off" ] && rss_off=$m
done
ratio_on=$(awk -v a="$best_on" -v b="$best_ref" 'BEGIN { printf "%.3f", a / b }')
ratio_off=$(awk -v a="$best_off" -v b="$best_ref" 'BEGIN { printf "%.3f", a / b }')

# Container overhead as opusinfo reports it, ours and opusenc's.
"$JIASHU" encode speech30.wav note30.opus
opusenc --quiet --bitrate 16 --framesize 60 --comp 10 speech30.wav ref30.opus
overhead() { opusinfo "$1" | sed -n 's/.*(overhead: \([0-9.]*\)%).*/\1/p'; }
ov=$(overhead note30.opus)
ov_ref=$(overhead ref30.opus)

cat <<EOF
encode 60 s of speech, 16 kbit/s, 60 ms frames, complexity 10 (best of $rounds, CPU seconds)
  opusenc                      ${best_ref} s   peak RSS ${rss_ref} KiB
  jiashu encode (clean-up on)  ${best_on} s   peak RSS ${rss_on} KiB   ratio ${ratio_on}
  jiashu encode --no-cleanup   ${best_off} s   peak RSS ${rss_off} KiB   ratio ${ratio_off}
30 s note: $(stat -c %s note30.opus) bytes, container overhead ${ov} % (opusenc: $(stat -c %s ref30.opus) bytes, ${ov_ref} %)
EOF

status=0
awk -v r="$ratio_off" 'BEGIN { exit !(r <= 1.0) }' || { echo "GOAL MISSED: clean-up off ratio $ratio_off > 1.0"; status=1; }
awk -v r="$ratio_on" 'BEGIN { exit !(r <= 1.0) }' || { echo "GOAL MISSED: clean-up on ratio $ratio_on > 1.0"; status=1; }
[ "$rss_on" -le 8192 ] && [ "$rss_off" -le 8192 ] || { echo "GOAL MISSED: peak RSS over 8 MB"; status=1; }
awk -v o="$ov" 'BEGIN { exit !(o <= 1.5) }' || { echo "GOAL MISSED: overhead $ov % > 1.5 %"; status=1; }
exit $status
