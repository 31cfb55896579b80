#!/bin/bash
# The parents' page, measured: first and cached load over a 64 kbit/s link
# (tbf between two network namespaces: Chromium in one, the relay in the
# other), the page's encoding of 60 s of speech against the C encoder's in
# the same run, and the size of its notes against `jiashu encode`.
#   meson test -C build --benchmark web_page_load_encode_and_size
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
. "$TESTS_DIR/sync/netns_lib.sh"
stop_all() { [ -z "${RELAY_PID:-}" ] || kill "$RELAY_PID" 2>/dev/null || true; }
netns_up
shape 64kbit
PORT=18480
ip netns exec "$NS_R" "$JIASHU_RELAY" --listen "$IP_R:$PORT" --db "$SCRATCH/relay.db" --web "$WEB_DIR" \
  --quiet 2>"$SCRATCH/relay.log" &
RELAY_PID=$!
for _ in $(seq 100); do grep -q listening "$SCRATCH/relay.log" && break; sleep 0.1; done
grep -q listening "$SCRATCH/relay.log" || fail "the relay did not start: $(cat "$SCRATCH/relay.log")"
count_bytes "$PORT"
cat >"$SCRATCH/chromium" <<WRAP
#!/bin/sh
exec ip netns exec $NS_C /usr/bin/chromium "\$@"
WRAP
chmod +x "$SCRATCH/chromium"

# 60 s of Mandarin speech at 48 kHz for both encoders.
espeak-ng -v cmn -s 150 -w "$SCRATCH/one.wav" "爸爸妈妈，我今天在学校很好。老师表扬了我。奶奶做了饺子。我们都很想你们，早点回家。"
sox "$SCRATCH/one.wav" -r 48000 -c 1 -b 16 "$SCRATCH/speech.wav" repeat 30 trim 0 60
start=$(date +%s%N)
/usr/bin/time -f '%U %S' -o "$SCRATCH/c.time" "$JIASHU" encode "$SCRATCH/speech.wav" "$SCRATCH/c.opus"
end=$(date +%s%N)
read -r cu cs <"$SCRATCH/c.time"
c_wall=$(( (end - start) / 1000000 ))
c_bytes=$(stat -c %s "$SCRATCH/c.opus")

CHROMIUM="$SCRATCH/chromium" RELAY_URL="http://$IP_R:$PORT" SPEECH="$SCRATCH/speech.wav" \
  COUNTERS="ip netns exec $NS_C iptables -nvxL" PORT=$PORT \
  node "$TESTS_DIR/web/bench_web.mjs" >"$SCRATCH/page.txt" || { cat "$SCRATCH/page.txt"; fail "the page benchmark failed"; }
cat "$SCRATCH/page.txt"
page_ms=$(awk '/^encode_ms/ {print $2}' "$SCRATCH/page.txt")
page_bytes=$(awk '/^note_bytes/ {print $2}' "$SCRATCH/page.txt")
echo "C encoder, 60 s of speech: ${c_wall} ms wall, $(echo "($cu + $cs) * 1000" | bc) ms CPU, $c_bytes bytes"
echo "page / C, encoding wall time: $(echo "scale=2; $page_ms / $c_wall" | bc)"
echo "page / C, note size: $(echo "scale=3; $page_bytes / $c_bytes" | bc)"
