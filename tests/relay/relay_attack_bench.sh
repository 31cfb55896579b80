#!/bin/bash
# Benchmark: a normal client's inbox request and 100 KB upload from one
# address (127.0.0.3), with no attack and then while another address
# (127.0.0.2) holds 10,000 connections trickling headers (a line every
# 10 s) and 34 PATCHes announcing 2 MiB and sending a byte every 8 s; the
# same run repeats the attack against the relay with its protections off
# (per-address connection limit, header deadline, minimum body rate), which
# is how it behaved before. Prints latency (median, p95) and success rate
# per phase; asserts nothing about speed.
#   meson test -C BUILD --benchmark relay_attack_bench
# N_INBOX (default 40), N_UPLOAD (20), CONNS (10000) may be set.
: "${JIASHU:=unused}"
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

N_INBOX=${N_INBOX:-40}
N_UPLOAD=${N_UPLOAD:-20}
CONNS=${CONNS:-10000}
ulimit -n 30000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt "$((CONNS + 500))" ] || fail "ulimit -n is $(ulimit -n): raise the hard limit above $((CONNS + 500))"
: "${SLOW_CLIENT:?run through meson test --benchmark}"

ATTACKERS=""
stop_attack() {
  local p
  for p in $ATTACKERS; do kill "$p" 2>/dev/null || true; done
  for p in $ATTACKERS; do wait "$p" 2>/dev/null || true; done
  ATTACKERS=""
}
trap 'rc=$?; stop_attack; stop_relays || rc=1; cleanup_scratch; exit $rc' EXIT
head -c 102400 /dev/urandom >"$SCRATCH/100k"

# measure LABEL: N_INBOX inbox GETs then N_UPLOAD 100 KB uploads from 127.0.0.3.
measure() {
  local label=$1 i
  : >"$SCRATCH/inbox.t"; : >"$SCRATCH/upload.t"
  for i in $(seq "$N_INBOX"); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 30 --interface 127.0.0.3 \
      -H "Authorization: Bearer $MA" "$BASE/v1/inbox" >>"$SCRATCH/inbox.t" || echo "000 30" >>"$SCRATCH/inbox.t"
  done
  for i in $(seq "$N_UPLOAD"); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 30 --interface 127.0.0.3 \
      -X POST -H "Authorization: Bearer $MA" -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 102400' \
      -H "Upload-Metadata: $(metadata "$(uuid)" "$KID_ID")" \
      -H 'Content-Type: application/offset+octet-stream' --data-binary "@$SCRATCH/100k" \
      "$BASE/v1/uploads" >>"$SCRATCH/upload.t" || echo "000 30" >>"$SCRATCH/upload.t"
  done
  local what f
  for what in inbox upload; do
    f=$SCRATCH/$what.t
    sort -k2 -g "$f" | awk -v label="$label" -v what="$what" '
      { t[NR] = $2 * 1000; if ($1 ~ /^2/) ok++ }
      END { n = NR; p50 = t[int((n + 1) / 2)]; p95 = t[int(n * 0.95 + 0.999)];
            printf "%-34s %-7s ok %3d/%-3d (%5.1f%%)  median %8.1f ms  p95 %8.1f ms\n",
              label, what, ok, n, 100 * ok / n, p50, p95 }'
  done
}

# attack: 34 slow bodies, then CONNS trickling header blocks, from 127.0.0.2.
attack() {
  local paths=() i
  for i in $(seq 34); do
    create_upload "$DAD" 2097152 "$(metadata "$(uuid)" "$MA_ID")"
    expect_status "attacker's upload $i" 201
    paths+=("$UPLOAD")
  done
  "$SLOW_CLIENT" 127.0.0.2 "$PORT" 0 body 8000 900 "$DAD" "${paths[@]}" >"$SCRATCH/bodies.$1" &
  ATTACKERS="$ATTACKERS $!"
  sleep 1
  "$SLOW_CLIENT" 127.0.0.2 "$PORT" "$CONNS" headers 10000 900 >"$SCRATCH/headers.$1" \
    2>"$SCRATCH/headers.$1.err" &
  ATTACKERS="$ATTACKERS $!"
  # Measure once every connection has been tried (let in or refused).
  for i in $(seq 1200); do
    grep -q connected "$SCRATCH/headers.$1.err" && break
    sleep 0.5
  done
  echo "attacker's connections open to the relay while measuring: $(ss -Htn state established \
    "( sport = :$PORT )" | grep -c '127.0.0.2:')"
}

setup_family() {
  new_family dad; DAD=$TOKEN
  join "$CODE" ma; MA=$TOKEN MA_ID=$DEVICE
  as "$DAD" POST /v1/invites; join "$(json .code)" kid; KID_ID=$DEVICE
}

LIMITS=(--quiet --token-rate 100000 --token-burst 100000 --max-family-bytes 100000000000
  --max-mailbox 10000000 --max-connections "$CONNS")

echo "== relay with its defaults =="
start_relay defended "${LIMITS[@]}"
setup_family
measure "no attack"
attack defended
measure "10,000 trickling + 34 slow bodies"
stop_attack
echo "attacker (headers): $(cat "$SCRATCH/headers.defended")"
echo "attacker (bodies):  $(cat "$SCRATCH/bodies.defended")"
stop_relays

echo "== the same relay, protections off (as before) =="
start_relay open "${LIMITS[@]}" --max-connections-per-ip 0 --header-timeout 0 --min-body-rate 0 \
  --max-buffered-per-ip 1000000000
setup_family
measure "no attack (protections off)"
attack open
measure "attack (protections off)"
stop_attack
echo "attacker (headers): $(cat "$SCRATCH/headers.open")"
echo "attacker (bodies):  $(cat "$SCRATCH/bodies.open")"
