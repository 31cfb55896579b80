#!/bin/bash
# Sync benchmarks, between network namespaces with the real relay:
#  1. bytes on the wire (IP, both directions, counted by iptables on the
#     sender's side) to send a 60 s note, against the note's size;
#  2. on a 64 kbit/s link, time from the parent's sync to the message ready
#     on a watching child, against the ideal (the note's bits twice over
#     the rate, plus a few round trips);
#  3. sync --watch idle for a minute: wake-ups counted with strace.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
. "$TESTS_DIR/sync/netns_lib.sh"
netns_up

idle=${IDLE_SECONDS:-60}
parts=${BENCH_PARTS:-1 2 3}
part() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
log=$SCRATCH/relay.log
ip netns exec "$NS_R" "$JIASHU_RELAY" --listen "$IP_R:0" --db "$SCRATCH/relay.db" --quiet 2>"$log" &
SYNC_PIDS="$SYNC_PIDS $!"
for _ in $(seq 100); do
  RELAY_PORT=$(sed -n 's/^jiashu-relay: listening on .*:\([0-9][0-9]*\)$/\1/p' "$log" | tail -1)
  [ -n "$RELAY_PORT" ] && break
  sleep 0.05
done
J() { ip netns exec "$NS_C" "$JIASHU" "$@"; }
PARENT=(--home "$SCRATCH/parent")
CHILD=(--home "$SCRATCH/child")
url=http://$IP_R:$RELAY_PORT
J "${PARENT[@]}" setup --relay "$url" --name mama
code=$(J "${PARENT[@]}" family create)
J "${CHILD[@]}" setup --relay "$url" --name nainai
J "${CHILD[@]}" family join "$code"
J "${CHILD[@]}" sync >/dev/null
J "${PARENT[@]}" sync >/dev/null

speech "$SCRATCH/s.wav" 16000
sox -q "$SCRATCH/s.wav" "$SCRATCH/long.wav" repeat 12 trim 0 60
count_bytes "$RELAY_PORT"

# 1. Bytes on the wire for a 60 s note (unshaped link).
if part 1; then
id=$("$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/long.wav")
size=$("$JIASHU" "${PARENT[@]}" outbox --json | jq ".[] | select(.id == \"$id\") | .bytes")
zero_counters
J "${PARENT[@]}" sync --json | tail -1 >"$SCRATCH/up.json"
read -r out in < <(counted_bytes "$RELAY_PORT")
http_sent=$(jq .bytes_sent "$SCRATCH/up.json") http_recv=$(jq .bytes_received "$SCRATCH/up.json")
echo "bytes on the wire, 60 s note of $size bytes: IP out $out + in $in = $((out + in))" \
  "($(echo "scale=4; ($out + $in) / $size" | bc)x; sender to relay only $(echo "scale=4; $out / $size" | bc)x);" \
  "HTTP $http_sent + $http_recv ($(echo "scale=4; ($http_sent + $http_recv) / $size" | bc)x)"
zero_counters
J "${CHILD[@]}" sync --json | tail -1 >/dev/null
read -r out in < <(counted_bytes "$RELAY_PORT")
echo "bytes on the wire, receiving it: IP out $out + in $in = $((out + in)) ($(echo "scale=4; ($out + $in) / $size" | bc)x)"
fi

# 2. Time to the child on a 64 kbit/s link.
if part 2; then
shape 64kbit
id=$("$JIASHU" "${PARENT[@]}" record --input "$SCRATCH/long.wav")
size=$("$JIASHU" "${PARENT[@]}" outbox --json | jq ".[] | select(.id == \"$id\") | .bytes")
ip netns exec "$NS_C" "$JIASHU" "${CHILD[@]}" sync --watch --json >"$SCRATCH/watch" 2>&1 &
watcher=$!
SYNC_PIDS="$SYNC_PIDS $watcher"
sleep 2
rtt=$(ip netns exec "$NS_C" bash -c "exec 3<>/dev/tcp/$IP_R/$RELAY_PORT; s=\$(date +%s%N); printf 'GET /v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3; head -c 1 <&3 >/dev/null; echo \$(( (\$(date +%s%N) - s) / 1000 ))")
start=$(date +%s%N)
J "${PARENT[@]}" sync >/dev/null
for _ in $(seq 1200); do grep -q "\"received\",\"id\":\"$id\"" "$SCRATCH/watch" && break; sleep 0.05; done
end=$(date +%s%N)
grep -q "\"received\",\"id\":\"$id\"" "$SCRATCH/watch" || fail "the child did not receive the note"
took=$(echo "scale=3; ($end - $start) / 1000000000" | bc)
ideal=$(echo "scale=3; 2 * $size * 8 / 64000 + 4 * $rtt / 1000000" | bc)
echo "64 kbit/s: $size bytes ready on the child in $took s; ideal $ideal s (RTT $rtt us); ratio $(echo "scale=3; $took / $ideal" | bc)"
kill -9 "$watcher"; wait "$watcher" 2>/dev/null || true
fi

# 3. Idle watch: wake-ups in a minute.
tc -n "$NS_C" qdisc del dev "$VETH_C" root 2>/dev/null || true
tc -n "$NS_R" qdisc del dev "$VETH_R" root 2>/dev/null || true
if part 3 && command -v strace >/dev/null; then
  ip netns exec "$NS_C" strace -f -qq -e trace=poll,ppoll,epoll_wait,epoll_pwait,select,pselect6,nanosleep,clock_nanosleep \
    -o "$SCRATCH/strace" "$JIASHU" "${CHILD[@]}" sync --watch --json >"$SCRATCH/idle" 2>&1 &
  tracer=$!
  sleep 3
  : >"$SCRATCH/strace.mark"
  lines0=$(wc -l <"$SCRATCH/strace")
  sleep "$idle"
  lines1=$(wc -l <"$SCRATCH/strace")
  kill -9 $(awk '{print $1}' "$SCRATCH/strace" | sort -u) 2>/dev/null || true
  kill "$tracer" 2>/dev/null; wait "$tracer" 2>/dev/null || true
  waits=$(sed -n "$((lines0 + 1)),${lines1}p" "$SCRATCH/strace" | grep 'poll\|select\|sleep' | grep -vc ', 0) = ')
  echo "watch idle ${idle}s: $waits blocking waits returned (the relay ends a long poll after 60 s); every wait call:"
  sed -n "$((lines0 + 1)),${lines1}p" "$SCRATCH/strace" | sed 's/^/  /' | head -20
fi
