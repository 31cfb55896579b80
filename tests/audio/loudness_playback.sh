#!/bin/bash
# Every note plays at one loudness. Ten notes are made from the same
# speech at levels spanning 20 dB, encoded without the clean-up's level
# control, as a recorder without it leaves them (the parents' page, or a
# clean-up that leaves clean speech alone); two more are recorded by
# `jiashu record`, whose clean-up evens the level at about -29 LUFS. All go
# sealed through a real relay; the receiving home measures each once, when
# it arrives; each is played through PortAudio to the virtual speaker (the
# first and last also with `play --output`, the station's file). An
# independent meter, ffmpeg's ebur128 filter (ITU-R BS.1770-4), finds them
# all within 1 LU of each other and of the target, and no sample near full
# scale.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
. "$TESTS_DIR/audio/virtual_audio.sh"
. "$TESTS_DIR/audio/quality_lib.sh"

# The target the codec names (JC_LOUDNESS_TARGET_LUFS, docs/audio.md).
target=$(sed -n 's/^#define JC_LOUDNESS_TARGET_LUFS *(\(-[0-9.]*\))$/\1/p' "$TESTS_DIR/../codec/codec.h")
[ -n "$target" ] || fail "codec/codec.h names no JC_LOUDNESS_TARGET_LUFS"

# ebur128 FFMPEG_INPUT_ARGS...: "LUFS PEAK_DBFS" of the whole input.
ebur128() {
  ffmpeg -hide_banner -nostats "$@" -af ebur128=peak=sample -f null - 2>&1 |
    sed -n '/Summary:/,$p' | awk '/ I: / { i = $2 } /Peak:/ { p = $2 } END { print i, p }'
}

start_relay relay
family "http://127.0.0.1:$RELAY_PORT" >/dev/null
clean_speech "$SCRATCH/speech.wav"

ids=() levels=() n=12
for i in $(seq 0 $((n - 1))); do
  level=$(awk -v i="$i" 'BEGIN { printf "%.2f", i < 10 ? -20 * i / 9 : -20 * (i - 10) }')
  sox -q "$SCRATCH/speech.wav" "$SCRATCH/level$i.wav" vol "${level}dB"
  if [ "$i" -lt 10 ]; then
    "$JIASHU" encode --no-cleanup "$SCRATCH/level$i.wav" "$SCRATCH/level$i.opus" >/dev/null
    id=$("$OUTBOX_PUT" "$SCRATCH/parent" "$SCRATCH/level$i.opus") || fail "outbox_put $i"
  else
    id=$("$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/level$i.wav" </dev/null) || fail "record $i"
  fi
  ids+=("$id") levels+=("$level")
done
"$JIASHU" "${PARENT[@]}" sync >/dev/null || fail "the parent's sync"
"$JIASHU" "${CHILD[@]}" sync >/dev/null || fail "the grandmother's sync"

# Measured once, when each arrived: nobody has played them yet.
measured=$(sqlite3 "$SCRATCH/child/jiashu.db" \
  "SELECT count(*) FROM messages WHERE box = 1 AND state = 'ready' AND loudness_lufs IS NOT NULL")
[ "$measured" = "$n" ] || fail "$measured of $n received notes have their loudness kept on arrival"

virtual_audio --no-capture
printf '%-5s %-8s %-10s %-18s %-18s\n' note "level" "as sent" "speaker" "play --output"
for i in $(seq 0 $((n - 1))); do
  id=${ids[$i]}
  "$JIASHU" "${CHILD[@]}" export "$id" "$SCRATCH/sent$i.opus" >/dev/null
  "$JIASHU" decode "$SCRATCH/sent$i.opus" "$SCRATCH/sent$i.wav" >/dev/null
  read -r before before_peak <<<"$(ebur128 -i "$SCRATCH/sent$i.wav")"
  : >"$SCRATCH/speaker.raw"
  "$JIASHU" "${CHILD[@]}" play "$id" </dev/null >/dev/null 2>"$SCRATCH/err" ||
    fail "play $i: $(cat "$SCRATCH/err")"
  cp "$SCRATCH/speaker.raw" "$SCRATCH/heard$i.raw"
  read -r spk spk_peak <<<"$(ebur128 -f s16le -ar 16000 -ac 1 -i "$SCRATCH/heard$i.raw")"
  out=$spk out_peak=-1
  if [ "$i" = 0 ] || [ "$i" = 9 ]; then
    "$JIASHU" "${CHILD[@]}" play "$id" --output "$SCRATCH/out$i.wav" >/dev/null || fail "play --output $i"
    read -r out out_peak <<<"$(ebur128 -i "$SCRATCH/out$i.wav")"
  fi
  printf '%-5s %-8s %-10s %-18s %-18s\n' "$i" "${levels[$i]}" "$before" \
    "$spk (peak $spk_peak)" "$([ "$i" = 0 ] || [ "$i" = 9 ] && echo "$out (peak $out_peak)")"
  echo "$before $spk $spk_peak $out $out_peak" >>"$SCRATCH/figures"
done

# The ten really were 20 dB apart as sent, or this proves nothing.
awk -v t="$target" -v n="$n" '
  { b[NR] = $1; s[NR] = $2; sp[NR] = $3; o[NR] = $4; op[NR] = $5 }
  function spread(a, count,   lo, hi, k) { lo = 1e9; hi = -1e9
    for (k = 1; k <= count; k++) { if (a[k] < lo) lo = a[k]; if (a[k] > hi) hi = a[k] }
    return hi - lo }
  END {
    if (NR != n) { print "measured " NR " of " n " notes"; exit 1 }
    printf "spread as sent %.1f LU (the ten without clean-up); played %.1f LU (all %d)\n",
      spread(b, 10), spread(s, n), n
    if (spread(b, 10) < 19) { print "the ten as sent span only " spread(b, 10) " LU"; exit 1 }
    if (spread(s, n) > 1) { print "played notes are more than 1 LU apart"; exit 1 }
    for (k = 1; k <= n; k++) {
      if (s[k] < t - 1 || s[k] > t + 1 || o[k] < t - 1 || o[k] > t + 1) {
        print "note " k - 1 " played at " s[k] " / " o[k] " LUFS, not within 1 LU of " t; exit 1 }
      # -1 dBFS is the ceiling; the speaker path resamples, so allow a little.
      if (sp[k] > -0.5 || op[k] > -0.9) {
        print "note " k - 1 " peaks at " sp[k] " / " op[k] " dBFS"; exit 1 }
    }
  }' "$SCRATCH/figures" || fail "loudness: $(tr '\n' ';' <"$SCRATCH/figures")"
echo ok
