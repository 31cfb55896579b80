#!/bin/bash
# Sync benchmarks, between network namespaces with the real relay:
#  1. bytes on the wire (IP, both directions, counted by iptables on the
#     sender's side) to send a 60 s note, against the note's size;
#  2. time from the end of recording to the note ready on a watching
#     recipient, both sides running `sync --watch`, against the ideal: on
#     loopback (ideal: two round trips), at 64 kbit/s with the recipient
#     behind the shaped link and the parent on the relay's side (ideal: the
#     note's bits over the rate plus two round trips), and at 64 kbit/s
#     with both behind it (the note crosses the link twice, up then down:
#     its bits both ways over the rate plus two round trips); a 10 s and a
#     60 s note (BENCH_NOTE_SECONDS), three runs each (BENCH_RUNS), every
#     run printed and then the medians (details above the part below);
#  3. sync --watch idle for a minute (IDLE_SECONDS): wake-ups counted with
#     strace, and the bytes it costs on the link.
# BENCH_PARTS selects parts ("1 2 3"). Timings are reported, never
# asserted; in part 2 a note that does not arrive, or arrives damaged,
# fails the benchmark.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/sync/sync_lib.sh"
. "$TESTS_DIR/sync/netns_lib.sh"
netns_up

idle=${IDLE_SECONDS:-60}
parts=${BENCH_PARTS:-1 2 3}
part() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
unshape() {
  tc -n "$NS_C" qdisc del dev "$VETH_C" root 2>/dev/null || true
  tc -n "$NS_R" qdisc del dev "$VETH_R" root 2>/dev/null || true
}
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

# 2. End of recording -> ready on a watching recipient, against the ideal.
# Both sides run `sync --watch` (60 s long poll) and nothing else; the
# parent records each note with `record --input` from a WAV fed in real
# time (JIASHU_RECORD_PACE_US: 20 ms of sound every 20 ms, as
# sync_watch_reacts.sh does). The times are the programs' own, in
# milliseconds of the one clock every namespace shares: from the "finished
# at" line of `record` (JIASHU_RECORD_TRACE, the moment the note was kept)
# to the `received` event of the recipient's watch (at_ms). Three
# conditions, each with BENCH_RUNS runs of every note length in
# BENCH_NOTE_SECONDS:
#  - loopback: both watches in the relay's namespace, so every byte goes
#    over its loopback interface; ideal = 2 RTT;
#  - 64 kbit/s with the recipient behind the shaped link and the parent on
#    the relay's side of it (unshaped): ideal = the note's bits down / 64000
#    + 2 RTT (the issue's ideal);
#  - 64 kbit/s with both behind the shaped link: the relay offers only a
#    complete, verified note (store and forward), so the note crosses the
#    link twice: ideal = (bits up + bits down) / 64000 + 2 RTT.
# The note's bits are its bodies as sync reports them (the `sent` and
# `received` events' totals), without HTTP, TCP or IP headers. RTT: a
# request written on an open connection to the first byte of the relay's
# answer, median of three probes, from the recipient's namespace (on the
# shaped link when it is shaped). On the shaped link each run also gives
# the IP bytes the client's namespace sent to the relay and received from
# it from the start of recording to ready (iptables counters: headers,
# ACKs and resent packets included; a packet sent is counted before that
# side's shaper, so one the shaper then dropped counts too, a packet
# received only once it got through). Every run is printed, then the
# median of each figure; the figures are not asserted, but a note that
# never arrives, or whose exported bytes differ from the parent's, fails
# the benchmark.
if part 2; then
runs=${BENCH_RUNS:-3}
note_lengths=${BENCH_NOTE_SECONDS:-10 60}
for secs in $note_lengths; do
  [ "$secs" -ge 1 ] && [ "$secs" -le 60 ] || fail "BENCH_NOTE_SECONDS: $secs is not 1 to 60"
  sox -q "$SCRATCH/long.wav" "$SCRATCH/note$secs.wav" trim 0 "$secs"
done

# rtt_us NS: median of three round trips from namespace NS to the relay, in
# microseconds: from a request written on an open connection to the first
# byte of the answer, timed with bash's own clock and read (no process
# started in between, which would add milliseconds).
rtt_us() {
  local i
  for i in 1 2 3; do
    ip netns exec "$1" bash -c 'exec 3<>"/dev/tcp/$0/$1"
      s=$EPOCHREALTIME
      printf "GET /v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" >&3
      read -r -N 1 -u 3 _
      e=$EPOCHREALTIME
      echo $((10#${e/[.,]/} - 10#${s/[.,]/}))' "$IP_R" "$RELAY_PORT"
    sleep 0.2
  done | sort -n | sed -n 2p
}
# start_watch NAME NS HOME_ARGS...: a watch in namespace NS; its events go
# to $SCRATCH/NAME and its pid to NAME_pid.
start_watch() {
  local name=$1 ns=$2; shift 2
  ip netns exec "$ns" "$JIASHU" "$@" sync --watch --wait 60 --json >"$SCRATCH/$name" 2>&1 &
  SYNC_PIDS="$SYNC_PIDS $!"
  eval "${name}_pid=\$!"
}
stop_watch() {
  local pid
  eval "pid=\$${1}_pid"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# seen NAME PATTERN SECONDS: the watch's events match PATTERN in time.
seen() {
  local deadline=$(($(date +%s) + $3))
  while [ "$(date +%s)" -le "$deadline" ]; do
    grep -q "$2" "$SCRATCH/$1" && return 0
    sleep 0.05
  done
  return 1
}
await() { seen "$1" "$2" "$3" || fail "$4 (no '$2' within $3 s): $(tail -5 "$SCRATCH/$1")"; }
# quiet: both watches are waiting again (each one's last event), then a
# second for their long polls to reach the relay.
quiet() {
  local deadline=$(($(date +%s) + 60))
  until tail -1 "$SCRATCH/pw" | grep -q '"waiting"' && tail -1 "$SCRATCH/cw" | grep -q '"waiting"'; do
    [ "$(date +%s)" -le "$deadline" ] || fail "the watches did not settle: $(tail -2 "$SCRATCH/pw") $(tail -2 "$SCRATCH/cw")"
    sleep 0.05
  done
  sleep 1
}
# drops NS DEV: packets the shaper on DEV has dropped (its queue was full).
drops() { tc -s -n "$1" qdisc show dev "$2" | sed -n 's/.*(dropped \([0-9]*\),.*/\1/p' | head -1; }
# at NAME PATTERN [FIELD]: FIELD (at_ms) of the watch's first event matching PATTERN.
at() { grep -m1 "$2" "$SCRATCH/$1" | jq -r ".${3:-at_ms}"; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# median FORMAT VALUES...
median() {
  local format=$1; shift
  printf '%s\n' "$@" | sort -g |
    awk -v f="$format" '{ v[NR] = $1 } END { printf f, (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

summary=()
for cond in loopback parent_on_relay_side both_behind_link; do
  case $cond in
  loopback)
    unshape
    parent_ns=$NS_R child_ns=$NS_R rtt=$(rtt_us "$NS_R")
    what="loopback"
    echo "loopback (no shaping; both watches on the relay's host): ideal = 2 RTT; RTT $rtt us" ;;
  parent_on_relay_side)
    shape 64kbit
    parent_ns=$NS_R child_ns=$NS_C rtt=$(rtt_us "$NS_C")
    what="64 kbit/s, parent on relay side"
    echo "64 kbit/s, recipient behind the shaped link, parent on the relay's side of it (unshaped):" \
      "ideal = note bits down / 64000 + 2 RTT; RTT on the shaped link $rtt us" ;;
  both_behind_link)
    parent_ns=$NS_C child_ns=$NS_C rtt=$(rtt_us "$NS_C")
    what="64 kbit/s, both behind link"
    echo "64 kbit/s, both behind the shaped link: the relay offers only a complete, verified note" \
      "(store and forward), so the note crosses the link twice:" \
      "ideal = (note bits up + bits down) / 64000 + 2 RTT; RTT on the shaped link $rtt us" ;;
  esac
  drops_up=$(drops "$NS_C" "$VETH_C") drops_down=$(drops "$NS_R" "$VETH_R")
  start_watch pw "$parent_ns" "${PARENT[@]}"
  start_watch cw "$child_ns" "${CHILD[@]}"
  await pw '"waiting"' 30 "the parent's watch did not start waiting"
  await cw '"waiting"' 30 "the child's watch did not start waiting"
  for secs in $note_lengths; do
    took_all=() ideal_all=() ratio_all=()
    for run in $(seq "$runs"); do
      quiet
      zero_counters
      JIASHU_RECORD_TRACE=1 JIASHU_RECORD_PACE_US=20000 ip netns exec "$parent_ns" \
        "$JIASHU" "${PARENT[@]}" record --to nainai --input "$SCRATCH/note$secs.wav" >"$SCRATCH/rec" ||
        fail "record"
      id=$(tail -1 "$SCRATCH/rec")
      t0=$(sed -n 's/^finished at \([0-9]*\) ms$/\1/p' "$SCRATCH/rec")
      [ -n "$t0" ] || fail "record did not say when it finished: $(tail -2 "$SCRATCH/rec")"
      await pw "\"sent\",\"id\":\"$id\"" $((30 + 2 * secs)) "$what: the parent's watch did not send the note"
      await cw "\"received\",\"id\":\"$id\"" $((30 + 2 * secs)) "$what: the recipient's watch did not receive the note"
      read -r link_up link_down < <(counted_bytes "$RELAY_PORT")
      "$JIASHU" "${PARENT[@]}" export "$id" "$SCRATCH/sent.opus" || fail "export (parent)"
      "$JIASHU" "${CHILD[@]}" export "$id" "$SCRATCH/got.opus" || fail "export (recipient)"
      cmp -s "$SCRATCH/sent.opus" "$SCRATCH/got.opus" || fail "$what: note $id arrived damaged (its exported bytes differ)"
      t_up=$(at pw "\"upload_start\",\"id\":\"$id\"")
      t_sent=$(at pw "\"sent\",\"id\":\"$id\"")
      t_dl=$(at cw "\"download_start\",\"id\":\"$id\"")
      t1=$(at cw "\"received\",\"id\":\"$id\"")
      up=$(at pw "\"sent\",\"id\":\"$id\"" total)
      down=$(at cw "\"received\",\"id\":\"$id\"" total)
      took=$(calc %.3f "($t1 - $t0) / 1000")
      case $cond in
      loopback) ideal=$(calc %.6f "2 * $rtt / 1000000") ;;
      parent_on_relay_side) ideal=$(calc %.6f "$down * 8 / 64000 + 2 * $rtt / 1000000") ;;
      both_behind_link) ideal=$(calc %.6f "($up + $down) * 8 / 64000 + 2 * $rtt / 1000000") ;;
      esac
      ratio=$(calc %.2f "$took / $ideal")
      link=
      [ "$cond" = loopback ] || link="; by then the client side had sent $link_up B and received $link_down B (IP)"
      echo "  $secs s note, run $run: ready ${took} s after the end of recording" \
        "(upload starts +$(calc %.3f "($t_up - $t0) / 1000"), sent +$(calc %.3f "($t_sent - $t0) / 1000")," \
        "download starts +$(calc %.3f "($t_dl - $t0) / 1000")); $up B up, $down B down;" \
        "ideal $ideal s; ratio $ratio${link:-}"
      took_all+=("$took") ideal_all+=("$ideal") ratio_all+=("$ratio")
      # The parent hears that it was delivered before the next run starts.
      seen pw "\"receipt\",\"id\":\"$id\",\"state\":\"delivered\"" 60 ||
        echo "  (the parent's watch saw no delivered receipt within 60 s)"
    done
    line="$(median %.3f "${took_all[@]}") s, ideal $(median %.6f "${ideal_all[@]}") s, ratio $(median %.2f "${ratio_all[@]}")"
    echo "  $secs s note, median of $runs: $line"
    summary+=("$(printf '%-34s %2s s note: %s' "$what" "$secs" "$line")")
  done
  stop_watch pw
  stop_watch cw
  [ "$cond" = loopback ] ||
    echo "  the shaper's queue overflowed (packets dropped, TCP sent them again):" \
      "$(($(drops "$NS_C" "$VETH_C") - ${drops_up:-0})) going up, $(($(drops "$NS_R" "$VETH_R") - ${drops_down:-0})) going down"
done
echo "end of recording -> ready on a watching recipient, medians of $runs runs:"
printf '  %s\n' "${summary[@]}"
fi

# 3. Idle watch: wake-ups in a minute.
unshape
if part 3 && command -v strace >/dev/null; then
  ip netns exec "$NS_C" strace -f -qq -e trace=poll,ppoll,epoll_wait,epoll_pwait,select,pselect6,nanosleep,clock_nanosleep \
    -o "$SCRATCH/strace" "$JIASHU" "${CHILD[@]}" sync --watch --json >"$SCRATCH/idle" 2>&1 &
  tracer=$!
  sleep 3
  : >"$SCRATCH/strace.mark"
  lines0=$(wc -l <"$SCRATCH/strace")
  zero_counters
  sleep "$idle"
  read -r idle_out idle_in < <(counted_bytes "$RELAY_PORT")
  lines1=$(wc -l <"$SCRATCH/strace")
  kill -9 $(awk '{print $1}' "$SCRATCH/strace" | sort -u) 2>/dev/null || true
  kill "$tracer" 2>/dev/null; wait "$tracer" 2>/dev/null || true
  waits=$(sed -n "$((lines0 + 1)),${lines1}p" "$SCRATCH/strace" | grep 'poll\|select\|sleep' | grep -vc ', 0) = ')
  echo "watch idle ${idle}s: $((idle_out + idle_in)) bytes on the link ($idle_out up, $idle_in down, IP)," \
    "$(((idle_out + idle_in) * 60 / idle)) a minute, $(((idle_out + idle_in) * 2592 / idle / 1000)) MB in 30 days"
  echo "watch idle ${idle}s: $waits blocking waits returned (the relay ends a long poll after 60 s); every wait call:"
  sed -n "$((lines0 + 1)),${lines1}p" "$SCRATCH/strace" | sed 's/^/  /' | head -20
fi
