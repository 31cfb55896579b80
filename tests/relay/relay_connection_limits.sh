#!/bin/bash
# One address opening a thousand connections that trickle their headers
# (a line a second, never the end) locks nobody else out: connections past
# the per-address limit are refused at accept, and those let in are closed
# when their header block is late, although they are never idle.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"

ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# 300 connections in all stands for the 1,024 open files a service starts
# with; the attacker alone could fill it three times.
start_relay conns --max-connections 300
"$SLOW_CLIENT" 127.0.0.2 "$PORT" 1000 headers 1000 15 >"$SCRATCH/attack" 2>"$SCRATCH/attack.err" &
ATTACK=$!
attack_connected() { grep -q 'slow_client: connected' "$SCRATCH/attack.err"; }
wait_until 30 "the slow client did not open its 1000 connections" attack_connected

# Another address is served meanwhile.
for i in 1 2 3; do
  STATUS=$(curl -s -o "$SCRATCH/body" -w '%{http_code}' --max-time 5 --interface 127.0.0.3 \
    -X POST -H 'Content-Type: application/json' -d "{\"name\":\"n$i\"}" "$BASE/v1/families") || STATUS=000
  [ "$STATUS" = 201 ] || fail "another address during the attack: status $STATUS"
  TOKEN=$(json .token)
  STATUS=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --interface 127.0.0.3 \
    -H "Authorization: Bearer $TOKEN" "$BASE/v1/inbox") || STATUS=000
  [ "$STATUS" = 200 ] || fail "inbox from another address during the attack: status $STATUS"
done
# The client trickles for 15 s at most; the attack is over once the relay
# has closed all its connections (the client closes its end on seeing it).
attack_over() { [ -s "$SCRATCH/attack" ] || ! ss -Htan src 127.0.0.2 dst "127.0.0.1:$PORT" | grep -q .; }
wait_until 60 "the slow client did not end" attack_over
kill -TERM "$ATTACK" 2>/dev/null || true
wait "$ATTACK"
read -r _ opened _ refused _ closed _ median <"$SCRATCH/attack"
echo "attacker: $(cat "$SCRATCH/attack")"
[ "$opened" -le 64 ] || fail "$opened connections from one address were let in (limit 64)"
[ "$refused" -ge 900 ] || fail "only $refused of 1000 connections were refused"
[ "$closed" = "$opened" ] || fail "$((opened - closed)) trickling connections outlived the header deadline"
# Closed at the default 10 s deadline, give or take the reaper's second;
# the idle timeout (30 s) would never have closed them.
awk -v m="$median" 'BEGIN { exit !(m < 13) }' || fail "trickling connections closed after ${median}s, deadline 10 s"
relay_alive conns
