#!/bin/bash
# What end-to-end encryption costs (docs/encryption.md, "What it costs"):
# 1. bytes added to a 30 s note at the default bitrate, absolute and as a
#    share; 2. CPU time added to recording (sealing) and to playback
#    (opening), against recording and decoding the same note in the same
#    run; 3. the time a pairing takes on a 64 kbit/s link with 650 ms
#    round trips (tbf between two network namespaces, plus a userspace
#    delay proxy: this kernel has no netem).
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
. "$TESTS_DIR/e2e/e2e_lib.sh"

cpu() { # cpu CMD...: user+system seconds of CMD (best of 3)
  local best=999 t
  for _ in 1 2 3; do
    /usr/bin/time -o "$SCRATCH/time" -f "%U %S" "$@" >/dev/null 2>&1
    t=$(awk '{print $1 + $2}' "$SCRATCH/time")
    best=$(echo "if ($t < $best) $t else $best" | bc -l)
  done
  echo "$best"
}

speech "$SCRATCH/s.wav" 16000 "$(printf '今天工厂下班早，我给你们录一段话。奶奶身体好吗？宝贝要听话，好好学习。%.0s' 1 2 3 4)"
sox -q "$SCRATCH/s.wav" "$SCRATCH/30.wav" repeat 5 trim 0 30
J encode "$SCRATCH/30.wav" "$SCRATCH/30.opus" >/dev/null || fail "encode"
read -r _ note _ sealed _ added _ seal_ms _ open_ms < <("$BENCH_SEAL" "$SCRATCH/30.opus" 50)
rec_s=$(cpu "$JIASHU" --home "$SCRATCH/h" record --input "$SCRATCH/30.wav")
dec_s=$(cpu "$JIASHU" decode "$SCRATCH/30.opus" "$SCRATCH/out.wav")
echo "30 s note at the default bitrate: $note bytes; sealed for one recipient: $sealed bytes"
echo "bytes added: $added ($(echo "scale=2; 100 * $added / $note" | bc) %); each further recipient adds 96"
echo "CPU: recording 30 s $(echo "$rec_s * 1000" | bc) ms, sealing it $seal_ms ms ($(echo "scale=2; 100 * $seal_ms / ($rec_s * 1000)" | bc) % more)"
echo "CPU: decoding it $(echo "$dec_s * 1000" | bc) ms, opening it $open_ms ms ($(echo "scale=2; 100 * $open_ms / ($dec_s * 1000)" | bc) % more)"

# 3. Pairing over a slow, far link.
. "$TESTS_DIR/sync/netns_lib.sh"
netns_up
shape 64kbit
RELAY_HOST=$IP_R
relay_log=$SCRATCH/relay.log
ip netns exec "$NS_R" "$JIASHU_RELAY" --listen "$IP_R:0" --db "$SCRATCH/relay.db" --quiet \
  --join-burst 50 --join-rate 10 2>"$relay_log" &
SYNC_PIDS="$SYNC_PIDS $!"
for _ in $(seq 100); do grep -q listening "$relay_log" && break; sleep 0.05; done
rport=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$relay_log" | head -1)
[ -n "$rport" ] || fail "the relay did not start"
ip netns exec "$NS_C" python3 "$TESTS_DIR/e2e/delay_proxy.py" 0 "$IP_R" "$rport" 325 "$SCRATCH/proxy.port" &
SYNC_PIDS="$SYNC_PIDS $!"
for _ in $(seq 100); do [ -s "$SCRATCH/proxy.port" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(cat "$SCRATCH/proxy.port")
C() { ip netns exec "$NS_C" "$JIASHU" "$@"; }
rtt=$(ip netns exec "$NS_C" curl -s -o /dev/null -w '%{time_starttransfer}' "$URL/v1/family")
for h in inviter joiner; do C --home "$SCRATCH/$h" setup --relay "$URL" --name "$h" >/dev/null; done
C --home "$SCRATCH/inviter" family create >/dev/null || fail "family create over the slow link"
t() { date +%s.%N; }
t0=$(t); code=$(C --home "$SCRATCH/inviter" family invite) || fail "invite"
t1=$(t); C --home "$SCRATCH/joiner" family join "$code" >/dev/null || fail "join"
t2=$(t); C --home "$SCRATCH/inviter" sync >/dev/null || fail "inviter sync"
t3=$(t); C --home "$SCRATCH/joiner" sync >/dev/null || fail "joiner sync"
t4=$(t)
[ -n "$(C --home "$SCRATCH/joiner" config device_id)" ] || fail "the pairing did not finish"
echo "pairing on 64 kbit/s with 650 ms round trips (one request measured $(echo "$rtt * 1000" | bc | cut -d. -f1) ms):"
echo "  invite $(echo "$t1 - $t0" | bc) s, join (claim + answer) $(echo "$t2 - $t1" | bc) s,"
echo "  inviter's sync (confirm, join for it, roster) $(echo "$t3 - $t2" | bc) s, joiner's sync (finish) $(echo "$t4 - $t3" | bc) s"
echo "  in all $(echo "$t4 - $t0" | bc) s with both phones online"
