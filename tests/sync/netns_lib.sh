# A hostile network between two network namespaces, for the sync tests.
# The client side (namespace $NS_C, address $IP_C) and the relay side
# ($NS_R, $IP_R) are joined by a veth pair. This kernel has no netem, so:
# the rate is shaped with tbf, packets are dropped with iptables'
# statistic match, and live connections are cut with ss -K by a cutter
# that follows the relay's sockets. Source after tests/lib.sh and
# sync_lib.sh. Where namespaces cannot be made the test skips (77).

NS_C=jsc$$
NS_R=jsr$$
VETH_C=jvc$$
VETH_R=jvr$$
IP_C=10.213.$(($$ % 250)).1
IP_R=10.213.$(($$ % 250)).2

netns_down() {
  ip netns del "$NS_C" 2>/dev/null || true
  ip netns del "$NS_R" 2>/dev/null || true
}

netns_up() {
  [ "$(id -u)" = 0 ] || { echo "SKIP: network namespaces need root"; exit 77; }
  command -v ip >/dev/null && command -v tc >/dev/null && command -v iptables >/dev/null &&
    command -v ss >/dev/null || { echo "SKIP: ip, tc, iptables or ss missing"; exit 77; }
  ip netns add "$NS_C" 2>/dev/null || { echo "SKIP: cannot create a network namespace here"; exit 77; }
  trap 'stop_all; netns_down; cleanup_scratch' EXIT
  ip netns add "$NS_R" || { echo "SKIP: cannot create a second network namespace"; exit 77; }
  ip link add "$VETH_C" type veth peer name "$VETH_R" || { echo "SKIP: cannot create a veth pair"; exit 77; }
  ip link set "$VETH_C" netns "$NS_C"
  ip link set "$VETH_R" netns "$NS_R"
  ip -n "$NS_C" addr add "$IP_C/24" dev "$VETH_C"
  ip -n "$NS_R" addr add "$IP_R/24" dev "$VETH_R"
  ip -n "$NS_C" link set lo up
  ip -n "$NS_R" link set lo up
  ip -n "$NS_C" link set "$VETH_C" up
  ip -n "$NS_R" link set "$VETH_R" up
  # No offloads: tbf and the counters see real packets.
  ip netns exec "$NS_C" ethtool -K "$VETH_C" tso off gso off gro off >/dev/null 2>&1 || true
  ip netns exec "$NS_R" ethtool -K "$VETH_R" tso off gso off gro off >/dev/null 2>&1 || true
}

# shape RATE: both directions limited to RATE (tc syntax: 20kbit).
shape() {
  local ns dev
  for ns in "$NS_C:$VETH_C" "$NS_R:$VETH_R"; do
    dev=${ns#*:}; ns=${ns%%:*}
    ip netns exec "$ns" tc qdisc replace dev "$dev" root tbf rate "$1" burst 1600 latency 1s ||
      { echo "SKIP: tbf is not available in this kernel"; exit 77; }
  done
}

# lose PROBABILITY: each side drops that share of the packets it receives.
lose() {
  local ns
  for ns in "$NS_C" "$NS_R"; do
    ip netns exec "$ns" iptables -A INPUT -m statistic --mode random --probability "$1" -j DROP ||
      { echo "SKIP: the iptables statistic match is not available"; exit 77; }
  done
}

# count_bytes PORT: iptables counters on the client side for traffic to and
# from the relay's port (IP bytes: headers, retransmissions and ACKs in).
count_bytes() {
  ip netns exec "$NS_C" iptables -I OUTPUT -p tcp --dport "$1" -j ACCEPT
  ip netns exec "$NS_C" iptables -I INPUT -p tcp --sport "$1" -j ACCEPT
}
counted_bytes() { # prints "OUT IN"
  local out in
  out=$(ip netns exec "$NS_C" iptables -nvxL OUTPUT | awk -v p="spt:$1|dpt:$1" '$0 ~ p {print $2; exit}')
  in=$(ip netns exec "$NS_C" iptables -nvxL INPUT | awk -v p="spt:$1|dpt:$1" '$0 ~ p {print $2; exit}')
  echo "$out $in"
}
zero_counters() {
  ip netns exec "$NS_C" iptables -Z OUTPUT
  ip netns exec "$NS_C" iptables -Z INPUT
}

# start_cutter PORT UP_BYTES DOWN_BYTES: cuts (ss -K) a connection to the
# relay whenever UP_BYTES have gone up (or DOWN_BYTES down) since the last
# cut in that direction: the open connection that carried most of those
# bytes, so the cut lands in the transfer that made them, not in a long
# poll that happened to move a few bytes at that moment. Counts go to
# $SCRATCH/cuts.up and $SCRATCH/cuts.down.
start_cutter() {
  local port=$1 up_every=$2 down_every=$3
  echo 0 >"$SCRATCH/cuts.up"; echo 0 >"$SCRATCH/cuts.down"
  ip netns exec "$NS_R" bash -c '
    port=$1 up_every=$2 down_every=$3 dir=$4
    declare -A rx tx su sd   # totals seen, and bytes since the last cut, per peer
    up=0 down=0 cu=0 cd=0
    while :; do
      best_up= best_up_d=0 best_dn= best_dn_d=0
      while read -r peer r a; do
        dr=$(( r - ${rx[$peer]:-0} )); da=$(( a - ${tx[$peer]:-0} ))
        rx[$peer]=$r; tx[$peer]=$a
        su[$peer]=$(( ${su[$peer]:-0} + dr )); sd[$peer]=$(( ${sd[$peer]:-0} + da ))
        up=$((up + dr)); down=$((down + da))
        [ ${su[$peer]} -gt $best_up_d ] && { best_up=$peer; best_up_d=${su[$peer]}; }
        [ ${sd[$peer]} -gt $best_dn_d ] && { best_dn=$peer; best_dn_d=${sd[$peer]}; }
      done < <(ss -tinH state established "( sport = :$port )" | paste - - |
        sed -n "s/.*[[:space:]]\([0-9.]*:[0-9]*\)[[:space:]].*bytes_acked:\([0-9]*\).*bytes_received:\([0-9]*\).*/\1 \3 \2/p")
      if [ $up -ge $up_every ] && [ -n "$best_up" ]; then
        ss -K -t state established "( sport = :$port and dport = :${best_up##*:} )" >/dev/null
        up=0; su=(); cu=$((cu + 1)); echo $cu >"$dir/cuts.up"
      fi
      if [ $down -ge $down_every ] && [ -n "$best_dn" ]; then
        ss -K -t state established "( sport = :$port and dport = :${best_dn##*:} )" >/dev/null
        down=0; sd=(); cd=$((cd + 1)); echo $cd >"$dir/cuts.down"
      fi
      sleep 0.1
    done' cutter "$port" "$up_every" "$down_every" "$SCRATCH" &
  CUTTER_PID=$!
  SYNC_PIDS="$SYNC_PIDS $CUTTER_PID"
}
