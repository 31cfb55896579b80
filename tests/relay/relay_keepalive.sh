#!/bin/bash
# Busy keep-alive connections stay open. The header deadline closes a
# connection whose next request's headers are late; it must never close one
# that has just finished a request. The timer thread that applies the
# deadline is delayed after each clock read (stale_timer_clock.c), as the
# scheduler delays it now and then on a loaded machine: a deadline computed
# from a time read before a request ended wrapped around, and every
# connection between two requests was cut (wrk saw read errors in one
# benchmark run in twenty).
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/relay/relay_lib.sh"
command -v wrk >/dev/null || fail "wrk is not installed (packaging/install-deps.sh)"
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

LD_PRELOAD=$STALE_TIMER_CLOCK start_relay keep --quiet --token-rate 1000000 --token-burst 1000000
new_family dad
# Four seconds: the timer thread wakes once a second, with a clock 3 ms old.
wrk -t1 -c16 -d4s -H "Authorization: Bearer $TOKEN" "$BASE/v1/inbox" >"$SCRATCH/wrk" 2>&1 ||
  fail "wrk failed: $(cat "$SCRATCH/wrk")"
cat "$SCRATCH/wrk"
! grep -E 'Socket errors|Non-2xx' "$SCRATCH/wrk" || fail "the relay cut or refused busy keep-alive connections"
requests=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$SCRATCH/wrk")
[ "${requests:-0}" -ge 100 ] || fail "only ${requests:-0} requests were made: nothing was measured"

# The deadline still closes a connection that sends no request at all.
HEADER_TIMEOUT_PROBE=$("$PYTHON" - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(20)
t0 = time.monotonic()
try:
    data = s.recv(1)
except OSError:
    data = b""
print("%.1f" % (time.monotonic() - t0) if data == b"" else "answered")
PY
)
awk -v t="$HEADER_TIMEOUT_PROBE" 'BEGIN { exit !(t + 0 >= 9 && t + 0 < 13) }' ||
  fail "a silent connection was closed after ${HEADER_TIMEOUT_PROBE}s, header deadline 10 s"
relay_alive keep
